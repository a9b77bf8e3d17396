package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/qry-dev/qry/client"
	"github.com/qry-dev/qry/shell"
)

func newShellCmd(g *globals) *cobra.Command {
	var server, history string
	var maxRows int
	cmd := &cobra.Command{
		Use:   "shell",
		Short: "Interactive SQL shell (local, or on a server with --server)",
		Long: `An interactive SQL shell over the catalog, or over a running qry serve
(--server). Statements end with ';'. Tab completes keywords, tables and
columns; Ctrl-C cancels a running query; Ctrl-D quits; .help lists the
meta-commands (.tables, .schema, .mode, .timer, .output, .read, ...).

With stdin not a terminal it runs the input as a script and exits non-zero
at the first error.`,
		Example: `  qry shell -d testdata/sample
  qry shell --server grpc://127.0.0.1:31337
  qry shell -d testdata/sample < report.sql`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runShell(cmd, g, server, history, maxRows)
		},
	}
	cmd.Flags().StringVarP(&server, "server", "s", "", "run on a qry server (grpc://HOST:PORT)")
	cmd.Flags().StringVar(&history, "history", defaultHistory(), "history file (empty: none)")
	cmd.Flags().IntVar(&maxRows, "max-rows", 100, "rows a table shows; the rest are counted")
	g.clientFlags(cmd)
	g.localFlags(cmd, false)
	return cmd
}

func defaultHistory() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".qry_history")
}

func runShell(cmd *cobra.Command, g *globals, server, history string, maxRows int) error {
	ctx := cmd.Context()
	interactive := term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
	opts := shell.Options{Interactive: interactive, HistoryFile: history, MaxRows: maxRows,
		Width: func() int {
			w, _, err := term.GetSize(int(os.Stdout.Fd()))
			if err != nil {
				return 0
			}
			return w
		}}
	if server != "" {
		c, err := client.Dial(ctx, server, g.remote)
		if err != nil {
			return err
		}
		defer c.Close()
		return shell.Run(ctx, shell.Remote{Client: c, URL: server}, opts)
	}
	eng, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer closeEngine(eng)
	return shell.Run(ctx, shell.Local{Engine: eng}, opts)
}
