package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/engine"
)

// knownExtensions are the official DuckDB extensions qry uses or offers.
var knownExtensions = []string{"spatial", "httpfs", "iceberg", "tpch"}

func newExtensionsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "extensions",
		Short: "List the DuckDB extensions qry finds in --extension-dir",
		Long: `qry loads DuckDB extensions from --extension-dir at start (the spatial
extension whenever it is there), never by SQL and never from the internet
while it serves. The builds must be DuckDB ` + engine.DuckDBVersion() + `'s: from "qry extensions
install NAME" where the internet is reachable, or from PyPI's wheels
("pip install duckdb-extension-spatial==` + engine.DuckDBVersion()[1:] + `", then --extension-dir
<that site-packages>).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := extensionDir(g.engine.ExtensionDir)
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "extension\tstatus\tpath\n")
			for _, name := range knownExtensions {
				if path, err := connectors.FindExtension(dir, name, engine.DuckDBVersion()); err == nil {
					fmt.Fprintf(w, "%s\tfound\t%s\n", name, path)
				} else {
					fmt.Fprintf(w, "%s\tmissing\t%s\n", name, dir)
				}
			}
			return w.Flush()
		},
	}
	install := &cobra.Command{
		Use:   "install NAME...",
		Short: "Download extensions into --extension-dir with DuckDB's INSTALL (needs the internet)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := extensionDir(g.engine.ExtensionDir)
			for _, name := range args {
				path, err := engine.InstallExtension(cmd.Context(), dir, name)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", name, path)
			}
			return nil
		},
	}
	cmd.AddCommand(install)
	return cmd
}

// extensionDir is dir, or DuckDB's own extension directory.
func extensionDir(dir string) string {
	if dir == "" {
		return connectors.DefaultExtensionDir()
	}
	return dir
}
