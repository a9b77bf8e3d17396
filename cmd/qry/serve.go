package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/server/auth"
	"github.com/qry-dev/qry/server/flightsql"
	"github.com/qry-dev/qry/server/httpapi"
	"github.com/qry-dev/qry/server/limit"
)

func newServeCmd(g *globals) *cobra.Command {
	var listen, httpAddr, tokensFile, tlsCert, tlsKey, tlsCA string
	var ticketSecret, ticketSecretFile, advertiseService string
	var advertise []string
	var refresh time.Duration
	var so flightsql.Options
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the catalog over Arrow Flight SQL (and HTTP)",
		Long: `Serve the catalog's tables over Arrow Flight SQL (ADBC, the Flight SQL JDBC
driver, arrow-go) and plain Arrow Flight (pyarrow.flight: the command or
ticket is SQL text, a path names a table). Tables are read-only, except
those qry.yaml declares writable: they take INSERT, bulk ingest (DoPut)
and HTTP POST, made durable in a write-ahead log and archived as Parquet
every tick.

With --http, an HTTP listener serves /healthz, /readyz, /metrics
(Prometheus), POST /v1/query (JSON, NDJSON, CSV or Arrow IPC by Accept)
and GET /v1/tables, with the same tokens, sandbox and limits as Flight.

Locked down by default: statements may read catalog tables only (SELECT,
EXPLAIN, DESCRIBE, SHOW; no file paths, COPY, ATTACH, SET or INSTALL),
DuckDB may touch only the catalog's directories, and each statement has a
timeout. --tokens requires bearer tokens; --tls-cert/--tls-key serve TLS,
--tls-client-ca requires client certificates.

Every flag is also a qry.yaml setting and a QRY_* environment variable
(--max-queue: QRY_MAX_QUEUE); a flag beats the environment, which beats the
file. QRY_TOKENS holds tokens themselves, for a Kubernetes Secret.

Each query is logged in one line (JSON unless stderr is a terminal) with
its duration, rows, files read and pruned, and a hash of its text.

On SIGINT or SIGTERM the server stops taking calls (/readyz fails at once),
lets running streams finish for up to 10 s, then cancels them.`,
		Example: `  qry serve --data testdata/sample
  qry serve --config qry.yaml --listen 0.0.0.0:31337 --http 0.0.0.0:8080

  # from Python:
  #   import adbc_driver_flightsql.dbapi as fs
  #   conn = fs.connect("grpc://127.0.0.1:31337")
  #   conn.cursor().execute("SELECT * FROM trips LIMIT 5").fetch_arrow_table()
  # from a shell:
  #   curl -H 'Accept: text/csv' --data 'SELECT * FROM zones' http://127.0.0.1:8080/v1/query`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g.defaultLevel = slog.LevelInfo
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			log := g.logger()
			serve := flightsql.ServeOptions{Addr: listen}
			scheme, httpScheme := "grpc", "http"
			reload := &reloader{tokensFile: tokensFile, secretFile: ticketSecretFile, log: log,
				tokens: auth.NewLive(nil), secrets: flightsql.NewSecrets()}
			var tokens auth.Checker
			var err error
			switch {
			case tokensFile != "":
				tokens = reload.tokens
			case os.Getenv("QRY_TOKENS") != "":
				var t auth.Tokens
				if t, err = auth.ParseTokens(os.Getenv("QRY_TOKENS")); err != nil {
					return err
				}
				reload.tokens.Set(t)
				tokens = reload.tokens
			}
			switch {
			case ticketSecretFile != "" && ticketSecret != "":
				return usage("--ticket-secret and --ticket-secret-file: give one")
			case ticketSecret != "":
				keys, err := parseSecrets(ticketSecret, "--ticket-secret")
				if err != nil {
					return err
				}
				reload.secrets.Set(keys...)
			}
			if err := reload.load(); err != nil {
				return err
			}
			so.Secrets = reload.secrets
			if tokens != nil {
				serve.Middleware = append(serve.Middleware, flightsql.AuthMiddleware(tokens))
			}
			if tlsCert != "" || tlsKey != "" {
				if serve.TLS, err = auth.TLSConfig(tlsCert, tlsKey, tlsCA); err != nil {
					return err
				}
				scheme, httpScheme = "grpc+tls", "https"
			} else if tlsCA != "" {
				return usage("--tls-client-ca needs --tls-cert and --tls-key")
			}

			so.Locations = locations(advertise, advertiseService, scheme, log)
			go reload.run(ctx)

			// HTTP first: probes answer while the catalog loads.
			metrics := httpapi.NewMetrics()
			web := httpapi.New(httpapi.Options{Tokens: tokens, QueryTimeout: so.QueryTimeout, MaxSQLBytes: so.MaxSQLBytes,
				Metrics: metrics, Logger: log})
			errc := make(chan error, 2)
			running := 0
			if httpAddr != "" {
				running++
				go func() {
					errc <- httpapi.Serve(ctx, httpAddr, web, serve.TLS, limit.DefaultGrace, func(a net.Addr) {
						fmt.Fprintf(os.Stderr, "qry: http on %s://%s\n", httpScheme, a)
					})
				}()
			}
			stopHTTP := func() error {
				cancel()
				var first error
				for ; running > 0; running-- {
					if err := <-errc; err != nil && first == nil {
						first = err
					}
				}
				return first
			}

			g.engine.OnQueryDone = func(st engine.QueryStats) {
				metrics.Observe(st)
				logQuery(log, st, g.log.sql)
			}
			// A server only reads, sandboxed or not, and writes by
			// appending to writable tables.
			g.engine.ReadOnly = true
			g.engine.Sources = true // Kafka sources run in the server only
			eng, err := g.open(ctx)
			if err != nil {
				return errors.Join(err, stopHTTP())
			}
			defer closeEngine(eng)
			so.Version, so.Logger = version, log
			srv, err := flightsql.New(eng, so)
			if err != nil {
				return errors.Join(err, stopHTTP())
			}
			metrics.WatchEngine(eng)
			metrics.Gauge("qry_flight_streams", "Flight streams being sent.", func() float64 { return float64(srv.Running()) })
			web.SetEngine(eng)
			go eng.Watch(ctx, refresh)
			serve.Ready = func(a net.Addr) {
				auth := "no authentication"
				if tokens != nil {
					auth = fmt.Sprintf("%d tokens", reload.tokens.Len())
				}
				sandbox := "sandboxed"
				if !g.engine.Sandbox {
					sandbox = "NOT sandboxed"
				}
				fmt.Fprintf(os.Stderr, "qry: serving %d tables on %s://%s (%s, %s)\n", len(eng.Catalog().Snapshot().Tables), scheme, a, auth, sandbox)
			}
			go func() {
				<-ctx.Done()
				web.Drain()
				// Subscriptions never finish on their own: they end now,
				// and their clients resume on another server or after the
				// restart.
				eng.EndSubscriptions()
			}()
			running++
			go func() { errc <- flightsql.Serve(ctx, srv, serve) }()
			// Either server failing (a port in use) stops both.
			select {
			case err = <-errc:
				running--
			case <-ctx.Done():
			}
			return errors.Join(err, stopHTTP())
		},
	}
	f := cmd.Flags()
	g.localFlags(cmd, true)
	f.StringVar(&tokensFile, "tokens", "", "file of name:token lines; clients must send a bearer token (or basic auth name/token); read again on SIGHUP or when it changes; default $QRY_TOKENS (the tokens themselves)")
	f.StringVar(&tlsCert, "tls-cert", "", "serve TLS (Flight and HTTP) with this certificate")
	f.StringVar(&tlsKey, "tls-key", "", "key of --tls-cert")
	f.StringVar(&tlsCA, "tls-client-ca", "", "require client certificates signed by this CA (mTLS)")
	f.DurationVar(&so.QueryTimeout, "query-timeout", limit.DefaultQueryTimeout, "longest a statement may run (-1ns: no limit)")
	f.IntVar(&so.MaxSQLBytes, "max-sql-bytes", limit.DefaultSQLBytes, "longest statement text accepted")
	f.Int64Var(&g.engine.MaxResultRows, "max-result-rows", 0, "most rows one result may have (0: no limit)")
	f.Int64Var(&g.engine.MaxResultBytes, "max-result-bytes", 0, "most bytes one result may have (0: no limit)")
	f.IntVar(&g.engine.MaxSubscriptions, "max-subscriptions", 64, "subscriptions open at once; more are refused as busy (-1: no limit)")
	g.engine.SubscribeBuffer = 64 << 20
	f.Var((*sizeValue)(&g.engine.SubscribeBuffer), "subscribe-buffer", "Arrow bytes that may wait for one subscriber, e.g. 64MB")
	f.Uint64Var(&g.engine.SubscribeMaxLag, "subscribe-max-lag", 1_000_000, "rows writers may add while a subscriber's buffer stays full, before it is cut off and told where to resume")
	g.engine.ResultCacheBytes = 64 << 20
	f.Var((*sizeValue)(&g.engine.ResultCacheBytes), "result-cache", "memory for small results kept to answer repeated queries until their data changes, e.g. 64MB (0: no cache)")
	f.DurationVar(&so.TicketTTL, "ticket-ttl", flightsql.DefaultTicketTTL, "how long a ticket can be redeemed")
	f.StringVar(&ticketSecret, "ticket-secret", "", "key that signs tickets and prepared-statement handles, shared by replicas so that any one redeems them (32+ characters; several, comma-separated: the first signs, all check); default: random, this process only")
	f.StringVar(&ticketSecretFile, "ticket-secret-file", "", "file of ticket secrets, one per line (as --ticket-secret); read again on SIGHUP or when it changes")
	f.StringSliceVar(&advertise, "advertise", nil, "Flight locations of the replicas (grpc://host:port, repeatable) that a result in several parts lists on each endpoint")
	f.StringVar(&advertiseService, "advertise-service", "", "HOST:PORT of a DNS name that lists the replicas (a Kubernetes headless Service), added to --advertise")
	g.engine.PartitionBytes = engine.DefaultPartitionBytes
	f.Var((*sizeValue)(&g.engine.PartitionBytes), "partition-bytes", "target size of one part (one Flight endpoint) of a large result, in bytes of files read, e.g. 256MB")
	f.IntVar(&g.engine.MaxPartitions, "max-partitions", engine.DefaultMaxPartitions, "most parts (Flight endpoints) one result is split into, also when a client asks for more")
	f.DurationVar(&refresh, "refresh", 10*time.Second, "how often to look for new, changed and removed files (0: never)")
	f.IntVar(&g.batchRows, "batch-rows", 65536, "rows per Arrow batch sent (DuckDB makes 2,048-row chunks; larger batches travel faster)")
	f.StringVarP(&listen, "listen", "l", flightsql.DefaultAddr, "HOST:PORT for Flight SQL (port 0 picks a free one)")
	f.StringVar(&httpAddr, "http", "", "HOST:PORT for HTTP: probes, /metrics, /v1/query, /v1/tables (default: no HTTP)")
	return cmd
}

// logQuery writes the query log line: one per query.
func logQuery(log *slog.Logger, st engine.QueryStats, withSQL bool) {
	sum := sha256.Sum256([]byte(st.SQL))
	attrs := []slog.Attr{
		slog.String("frontend", st.Origin.Frontend),
		slog.String("status", st.Status()),
		slog.Float64("duration_ms", float64(st.Duration.Microseconds())/1000),
		slog.Int64("rows", st.Rows),
		slog.Int64("bytes", st.Bytes),
		slog.Int("files", st.Files),
		slog.Int("files_pruned", st.Files-st.FilesRead),
		slog.String("sql_hash", hex.EncodeToString(sum[:8])),
	}
	if st.Origin.User != "" {
		attrs = append(attrs, slog.String("user", st.Origin.User))
	}
	if st.FromStats {
		attrs = append(attrs, slog.Bool("from_stats", true))
	}
	if st.Cached {
		attrs = append(attrs, slog.Bool("cached", true))
	}
	if withSQL {
		attrs = append(attrs, slog.String("sql", st.SQL))
	}
	level := slog.LevelInfo
	if st.Err != nil {
		attrs = append(attrs, slog.String("err", oneLine(st.Err)))
		if st.Status() == "error" {
			level = slog.LevelWarn
		}
	}
	log.LogAttrs(context.Background(), level, "query", attrs...)
}

// sizeValue is a flag of bytes written as 64MB, 1GB, 4096 or 0.
type sizeValue int64

func (v *sizeValue) String() string {
	switch n := int64(*v); {
	case n > 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGB", n>>30)
	case n > 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprint(int64(*v))
}

func (v *sizeValue) Set(s string) error {
	if strings.TrimSpace(s) == "0" {
		*v = 0
		return nil
	}
	n, err := catalog.ParseSize(s)
	if err != nil {
		return err
	}
	*v = sizeValue(n)
	return nil
}

func (v *sizeValue) Type() string { return "size" }
