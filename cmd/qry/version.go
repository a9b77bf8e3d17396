package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/qry-dev/qry/engine"
)

// version is set by the release build: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

// versionString is the version, with the commit when the build knows it.
func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if rev != "" && v == "dev" {
			v += "-" + rev[:min(12, len(rev))] + dirty
		}
	}
	return v
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print qry's version and what it was built with",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "qry %s (DuckDB %s, %s, %s/%s)\n",
				versionString(), engine.DuckDBVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
