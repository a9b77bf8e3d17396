package main

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/qry-dev/qry/server/flightsql"
)

var version = "dev"

func newServeCmd(g *globals) *cobra.Command {
	var listen string
	var refresh time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the catalog over Arrow Flight SQL",
		Long: `Serve the catalog's tables over Arrow Flight SQL (ADBC, the Flight SQL JDBC
driver, arrow-go) and plain Arrow Flight (pyarrow.flight: the command or
ticket is SQL text, a path names a table). Tables are read-only.

On SIGINT or SIGTERM the server stops taking calls, lets running streams
finish for up to 10 s, then cancels them.`,
		Example: `  qry serve --data testdata/sample
  qry serve --config qry.yaml --listen 0.0.0.0:31337

  # from Python:
  #   import adbc_driver_flightsql.dbapi as fs
  #   conn = fs.connect("grpc://127.0.0.1:31337")
  #   conn.cursor().execute("SELECT * FROM trips LIMIT 5").fetch_arrow_table()`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			eng, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer closeEngine(eng)
			srv, err := flightsql.New(eng, flightsql.Options{Version: version, Logger: g.logger()})
			if err != nil {
				return err
			}
			go eng.Watch(ctx, refresh)
			return flightsql.Serve(ctx, srv, flightsql.ServeOptions{
				Addr: listen,
				Ready: func(a net.Addr) {
					fmt.Fprintf(os.Stderr, "qry: serving %d tables on grpc://%s\n", len(eng.Catalog().Snapshot().Tables), a)
				},
			})
		},
	}
	cmd.Flags().DurationVar(&refresh, "refresh", 10*time.Second, "how often to look for new, changed and removed files (0: never)")
	cmd.Flags().IntVar(&g.batchRows, "batch-rows", 65536, "rows per Arrow batch sent (DuckDB makes 2,048-row chunks; larger batches travel faster)")
	cmd.Flags().StringVarP(&listen, "listen", "l", flightsql.DefaultAddr, "HOST:PORT to listen on (port 0 picks a free one)")
	return cmd
}
