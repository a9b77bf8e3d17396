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
	var listen, tokensFile, tlsCert, tlsKey, tlsCA string
	var refresh time.Duration
	var so flightsql.Options
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the catalog over Arrow Flight SQL",
		Long: `Serve the catalog's tables over Arrow Flight SQL (ADBC, the Flight SQL JDBC
driver, arrow-go) and plain Arrow Flight (pyarrow.flight: the command or
ticket is SQL text, a path names a table). Tables are read-only.

Locked down by default: statements may read catalog tables only (SELECT,
EXPLAIN, DESCRIBE, SHOW; no file paths, COPY, ATTACH, SET or INSTALL),
DuckDB may touch only the catalog's directories, and each statement has a
timeout. --tokens requires bearer tokens; --tls-cert/--tls-key serve TLS,
--tls-client-ca requires client certificates.

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
			serve := flightsql.ServeOptions{Addr: listen}
			scheme := "grpc"
			var tokens flightsql.Tokens
			var err error
			switch {
			case tokensFile != "":
				tokens, err = flightsql.LoadTokens(tokensFile)
			case os.Getenv("QRY_TOKENS") != "":
				tokens, err = flightsql.ParseTokens(os.Getenv("QRY_TOKENS"))
			}
			if err != nil {
				return err
			}
			if tokens != nil {
				serve.Middleware = append(serve.Middleware, tokens.Middleware())
			}
			if tlsCert != "" || tlsKey != "" {
				if serve.TLS, err = flightsql.TLSConfig(tlsCert, tlsKey, tlsCA); err != nil {
					return err
				}
				scheme = "grpc+tls"
			} else if tlsCA != "" {
				return usageError{fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key")}
			}
			eng, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer closeEngine(eng)
			so.Version, so.Logger = version, g.logger()
			srv, err := flightsql.New(eng, so)
			if err != nil {
				return err
			}
			go eng.Watch(ctx, refresh)
			serve.Ready = func(a net.Addr) {
				auth := "no authentication"
				if tokens != nil {
					auth = fmt.Sprintf("%d tokens", len(tokens))
				}
				sandbox := "sandboxed"
				if !g.engine.Sandbox {
					sandbox = "NOT sandboxed"
				}
				fmt.Fprintf(os.Stderr, "qry: serving %d tables on %s://%s (%s, %s)\n", len(eng.Catalog().Snapshot().Tables), scheme, a, auth, sandbox)
			}
			return flightsql.Serve(ctx, srv, serve)
		},
	}
	f := cmd.Flags()
	g.localFlags(cmd, true)
	f.StringVar(&tokensFile, "tokens", "", "file of name:token lines; clients must send a bearer token (or basic auth name/token); default $QRY_TOKENS")
	f.StringVar(&tlsCert, "tls-cert", "", "serve TLS with this certificate")
	f.StringVar(&tlsKey, "tls-key", "", "key of --tls-cert")
	f.StringVar(&tlsCA, "tls-client-ca", "", "require client certificates signed by this CA (mTLS)")
	f.DurationVar(&so.QueryTimeout, "query-timeout", 10*time.Minute, "longest a statement may run (-1ns: no limit)")
	f.IntVar(&so.MaxSQLBytes, "max-sql-bytes", 1<<20, "longest statement text accepted")
	f.Int64Var(&so.MaxResultRows, "max-result-rows", 0, "most rows one result may have (0: no limit)")
	f.Int64Var(&so.MaxResultBytes, "max-result-bytes", 0, "most bytes one result may have (0: no limit)")
	f.DurationVar(&so.TicketTTL, "ticket-ttl", 10*time.Minute, "how long an unused ticket or an idle prepared statement lives")
	cmd.Flags().DurationVar(&refresh, "refresh", 10*time.Second, "how often to look for new, changed and removed files (0: never)")
	cmd.Flags().IntVar(&g.batchRows, "batch-rows", 65536, "rows per Arrow batch sent (DuckDB makes 2,048-row chunks; larger batches travel faster)")
	cmd.Flags().StringVarP(&listen, "listen", "l", flightsql.DefaultAddr, "HOST:PORT to listen on (port 0 picks a free one)")
	return cmd
}
