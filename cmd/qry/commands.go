package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/client"
	"github.com/qry-dev/qry/config"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/render"
	"github.com/qry-dev/qry/storage"
)

// globals are the flags every command shares.
type globals struct {
	data      []string
	config    string
	cacheDir  string
	verbose   bool
	batchRows int
	engine    engine.Options
	// accelerate and accelMode are --accelerate and --accelerate-mode.
	accelerate, accelMode string
	s3                    storage.Config
	remote                client.Options
	file                  *config.File // the --config file, once read
	log                   logging
	// defaultLevel is the log level without --log-level or --verbose.
	defaultLevel slog.Level
	logr         *slog.Logger
}

// clientFlags are the flags of commands that can talk to a server.
func (g *globals) clientFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&g.remote.Token, "token", "", "bearer token for the server (default $QRY_TOKEN)")
	f.StringVar(&g.remote.CAFile, "tls-ca", "", "CA certificate that signed the server's (grpc+tls://)")
	f.StringVar(&g.remote.CertFile, "tls-cert", "", "client certificate (mTLS)")
	f.StringVar(&g.remote.KeyFile, "tls-key", "", "client key (mTLS)")
}

// localFlags are the engine flags of commands that run locally.
func (g *globals) localFlags(cmd *cobra.Command, sandboxDefault bool) {
	f := cmd.Flags()
	// Commands differ in the default, so each has its own variable.
	sandbox := new(bool)
	f.BoolVar(sandbox, "sandbox", sandboxDefault, "confine statements to catalog tables (SELECT, EXPLAIN, DESCRIBE, SHOW; no file paths, COPY, ATTACH, SET, INSTALL)")
	cmd.PreRun = func(*cobra.Command, []string) { g.engine.Sandbox = *sandbox }
	f.StringVar(&g.engine.MemoryLimit, "memory-limit", "", "DuckDB memory limit, e.g. 4GB or 50% (default: DuckDB's, 80% of RAM)")
	f.IntVar(&g.engine.Threads, "threads", 0, "DuckDB worker threads (default: one per CPU; on Kubernetes, set it to the pod's CPU limit)")
	f.StringVar(&g.engine.MaxTempSize, "max-temp-size", "", "cap on DuckDB's spill files, e.g. 10GB")
	f.IntVar(&g.engine.MaxConns, "max-concurrent", 8, "queries that run at once (one DuckDB connection each)")
	f.IntVar(&g.engine.MaxQueue, "max-queue", 64, "queries that may wait for a connection; more are refused as busy")
	f.StringVar(&g.accelerate, "accelerate", "", "tables to keep a copy of in DuckDB's native storage, in step with their files: NAME,... or all")
	f.StringVar(&g.accelMode, "accelerate-mode", engine.AccelMemory, "where --accelerate's copies live: memory, or disk (a database in --cache-dir that survives restarts)")
	f.Var((*sizeValue)(&g.engine.AccelerateMemory), "accelerate-memory", "memory the in-memory copies may take, e.g. 4GB (default 4GB); a table that does not fit is read from its files")
}

// accelerated turns --accelerate and --accelerate-mode into the engine's
// option.
func (g *globals) accelerated() (map[string]string, error) {
	if g.accelMode != engine.AccelMemory && g.accelMode != engine.AccelDisk {
		return nil, usage("--accelerate-mode: %q is not memory or disk", g.accelMode)
	}
	if strings.TrimSpace(g.accelerate) == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, name := range strings.Split(g.accelerate, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "all" {
			name = "*"
		}
		if name != "" {
			out[name] = g.accelMode
		}
	}
	return out, nil
}

func newRoot() *cobra.Command {
	g := &globals{defaultLevel: slog.LevelError}
	root := &cobra.Command{
		Use:   "qry",
		Short: "Query Parquet, CSV and GeoJSON files in place with SQL",
		Long: `qry maps directories of Parquet, CSV and GeoJSON files to tables and
queries them with SQL (DuckDB's dialect), in place: no load step, no server.

Each top-level entry of a --data directory becomes a table named after it:
trips/ (a folder of Parquet files, hive-partitioned or not) is "trips",
zones.geojson is "zones". A qry.yaml (--config) declares tables explicitly.`,
		Example: `  qry --data testdata/sample        (on a terminal: the interactive shell)
  qry query --data testdata/sample "SELECT year, count(*) FROM trips GROUP BY year"
  qry tables --data testdata/sample
  qry describe --data testdata/sample zones
  qry query --config qry.yaml --format csv -o out.csv "SELECT * FROM trips WHERE fare > 40"`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.configure(cmd); err != nil {
				return err
			}
			_, err := g.log.logger(io.Discard, g.verbose, g.defaultLevel) // check the log flags early
			return err
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage("%w", err) })
	pf := root.PersistentFlags()
	pf.StringArrayVarP(&g.data, "data", "d", nil, "directory whose entries become tables (repeatable)")
	pf.StringVarP(&g.config, "config", "c", "", "qry.yaml declaring tables")
	pf.StringVar(&g.cacheDir, "cache-dir", "", "directory for derived files (default: the user cache dir)")
	pf.StringVar(&g.s3.Endpoint, "s3-endpoint", "", "S3-compatible server for s3:// roots, e.g. http://localhost:8333 (http: no TLS; path-style addressing) (default $AWS_ENDPOINT_URL)")
	pf.StringVar(&g.s3.Region, "s3-region", "", "region of s3:// roots (default $AWS_REGION, the profile's, or us-east-1)")
	pf.StringVar(&g.s3.Profile, "s3-profile", "", "AWS profile for s3:// roots' credentials (default $AWS_PROFILE)")
	pf.DurationVar(&g.s3.Timeout, "s3-timeout", storage.DefaultTimeout, "how long a request to object storage may stall before it fails (each of a few retries)")
	pf.StringVar(&g.engine.ExtensionDir, "extension-dir", "", "where DuckDB extensions are loaded from: DuckDB's layout or a site-packages with the duckdb-extension-* wheels (default: ~/.duckdb/extensions)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log diagnostics (files left out, ...) to stderr")
	g.log.flags(pf)
	root.AddCommand(newQueryCmd(g), newTablesCmd(g), newDescribeCmd(g), newServeCmd(g), newShellCmd(g),
		newConfigCmd(g), newExtensionsCmd(g), newSubscribeCmd(g), newVersionCmd())
	// Plain qry on a terminal opens the shell.
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if !term.IsTerminal(int(os.Stdin.Fd())) || (len(g.data) == 0 && g.config == "") {
			return cmd.Help()
		}
		return runShell(cmd, g, "", defaultHistory(), 100)
	}
	// Wrong arguments (an unknown command too) are usage errors, as wrong
	// flags are.
	for _, c := range append(root.Commands(), root) {
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return usage("%w", err)
				}
				return nil
			}
		}
	}
	return root
}

// logger is the process's logger, on stderr, as the log flags say.
func (g *globals) logger() *slog.Logger {
	if g.logr == nil {
		var err error
		if g.logr, err = g.log.logger(os.Stderr, g.verbose, g.defaultLevel); err != nil {
			g.logr = slog.New(slog.NewTextHandler(os.Stderr, nil)) // checked in PersistentPreRunE
		}
	}
	return g.logr
}

// open builds the catalog and engine from the flags.
func (g *globals) open(ctx context.Context) (*engine.Engine, error) {
	opts := catalog.Options{Data: g.data, CacheDir: g.cacheDir, Logger: g.logger(), S3: g.s3, ExtensionDir: g.engine.ExtensionDir}
	if g.file != nil {
		opts.Config = g.file.Catalog
	}
	if opts.Config == nil && len(opts.Data) == 0 {
		return nil, usage("no tables: give --data DIR or --config qry.yaml")
	}
	cat, err := catalog.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	warnProblems(cat.Snapshot())
	eo := g.engine
	eo.Logger, eo.BatchRows = g.logger(), g.batchRows
	if eo.Accelerate, err = g.accelerated(); err != nil {
		cat.Close()
		return nil, err
	}
	eo.SandboxDir = cat.CacheDir()
	eng, err := engine.Open(ctx, cat, eo)
	if err != nil {
		cat.Close()
		return nil, err
	}
	return eng, nil
}

func closeEngine(e *engine.Engine) {
	e.Close()
	e.Catalog().Close()
}

// warnProblems reports files left out of tables, one line each.
func warnProblems(s *catalog.Snapshot) {
	for _, p := range s.Problems {
		fmt.Fprintln(os.Stderr, "qry: warning: "+oneLine(p.Err))
	}
	for _, t := range s.Tables {
		for _, p := range t.Problems {
			fmt.Fprintf(os.Stderr, "qry: warning: table %s: left out %s\n", t.Name, oneLine(p.Err))
		}
	}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// output holds the flags of commands that print results.
type output struct {
	format  string
	file    string
	maxRows int
	// plain writes a plan's rows as plain text (--explain's table): each
	// key, then its value whole, on a terminal or not.
	plain bool
}

func (o *output) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "F", "table", "output format: "+strings.Join(render.Formats, ", "))
	f.StringVarP(&o.file, "output", "o", "", "write results to this file instead of stdout")
	f.IntVar(&o.maxRows, "max-rows", 1000, "rows a table shows at most (0: all); other formats write every row")
}

// write renders rr to stdout or the output file.
func (o *output) write(ctx context.Context, rr array.RecordReader) error {
	valid := false
	for _, f := range render.Formats {
		valid = valid || f == o.format
	}
	if !valid {
		return usage("--format %q: one of %s", o.format, strings.Join(render.Formats, ", "))
	}
	var w io.Writer = os.Stdout
	opts := render.Options{Format: o.format, MaxRows: o.maxRows}
	if o.file != "" {
		f, err := os.Create(o.file)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
		opts.MaxRows = 0
	} else if term.IsTerminal(int(os.Stdout.Fd())) {
		if render.Binary(o.format) {
			return usage("--format %s writes binary data: use --output FILE or a pipe", o.format)
		}
		if width, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			opts.Width = width
		}
		opts.Color = true
	}
	if o.plain && o.format == "table" {
		return writePlain(w, rr)
	}
	_, err := render.Write(ctx, w, rr, opts)
	return err
}

// writePlain writes an EXPLAIN's rows (key, value) as text: the key on a
// line, then the value as it is, however wide.
func writePlain(w io.Writer, rr array.RecordReader) error {
	bw := bufio.NewWriter(w)
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range int(rec.NumRows()) {
			for c := range int(rec.NumCols()) {
				v := rec.Column(c).ValueStr(i)
				if c == 0 && rec.NumCols() > 1 {
					fmt.Fprintf(bw, "%s:\n", v)
					continue
				}
				fmt.Fprintln(bw, strings.TrimRight(v, "\n"))
			}
		}
	}
	if err := rr.Err(); err != nil {
		return err
	}
	return bw.Flush()
}

func newQueryCmd(g *globals) *cobra.Command {
	var out output
	var file, server string
	var explain bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "query [SQL]",
		Short: "Run one SQL statement and print its result",
		Long: `Run one SQL statement over the catalog's tables and print the result.
The SQL comes from the argument, from --file, or from stdin ("-" or no argument).`,
		Example: `  qry query -d testdata/sample "SELECT payment, round(avg(fare), 2) AS avg_fare FROM trips GROUP BY ALL"
  qry query -d testdata/sample -f report.sql --format json
  qry query -d testdata/sample --explain "SELECT count(*) FROM trips WHERE year = 2024 AND fare > 40"
  echo "SELECT count(*) FROM zones" | qry query -d testdata/sample
  qry query --server grpc://127.0.0.1:31337 "SELECT * FROM trips LIMIT 5"
  qry query -d testdata/sample -F parquet -o big_fares.parquet "SELECT * FROM trips WHERE fare > 40"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sql, err := readSQL(args, file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if explain {
				sql = "EXPLAIN " + sql
				out.plain = true
			}
			ctx := cmd.Context()
			if server != "" {
				c, err := client.Dial(ctx, server, g.remote)
				if err != nil {
					return err
				}
				defer c.Close()
				qctx, cancel := withTimeout(ctx, timeout)
				defer cancel()
				rows, err := c.Query(qctx, sql)
				if err != nil {
					return err
				}
				defer rows.Release()
				return out.write(qctx, rows)
			}
			eng, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer closeEngine(eng)
			// The timeout bounds the statement, not the catalog's loading.
			qctx, cancel := withTimeout(ctx, timeout)
			defer cancel()
			rows, err := eng.Query(qctx, sql)
			if err != nil {
				return err
			}
			defer rows.Release()
			return out.write(qctx, rows)
		},
	}
	out.flags(cmd)
	cmd.Flags().StringVarP(&file, "file", "f", "", "read the SQL from this file")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "longest the statement may run, e.g. 30s (0: no limit); past it qry exits 3")
	cmd.Flags().BoolVar(&explain, "explain", false, "show the plan instead of running: files read and pruned per table, predicates, then DuckDB's plan")
	cmd.Flags().StringVarP(&server, "server", "s", "", "run the query on a qry server (grpc://HOST:PORT or grpc+tls://HOST:PORT) instead of locally")
	g.clientFlags(cmd)
	g.localFlags(cmd, false)
	return cmd
}

// withTimeout bounds ctx by d; 0 means no bound.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

func readSQL(args []string, file string, stdin io.Reader) (string, error) {
	switch {
	case file != "" && len(args) > 0:
		return "", usage("give the SQL as an argument or with --file, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return string(b), nil
	case len(args) == 1 && args[0] != "-":
		return args[0], nil
	}
	b, err := io.ReadAll(stdin)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", usage("no SQL given (argument, --file, or stdin)")
	}
	return string(b), nil
}

func newTablesCmd(g *globals) *cobra.Command {
	var out output
	cmd := &cobra.Command{
		Use:     "tables",
		Short:   "List the catalog's tables",
		Example: `  qry tables -d testdata/sample`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			eng, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer closeEngine(eng)
			rr := eng.Catalog().Snapshot().TablesReader()
			defer rr.Release()
			return out.write(ctx, rr)
		},
	}
	out.flags(cmd)
	return cmd
}

func newDescribeCmd(g *globals) *cobra.Command {
	var out output
	var files bool
	cmd := &cobra.Command{
		Use:   "describe TABLE",
		Short: "Show a table's columns with their types and statistics",
		Example: `  qry describe -d testdata/sample trips
  qry describe -d testdata/sample --files weather`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer closeEngine(eng)
			t, ok := eng.Catalog().Snapshot().Table(args[0])
			if !ok {
				return fmt.Errorf("table %q: %w", args[0], catalog.ErrNotFound)
			}
			rr := t.DescribeReader()
			if files {
				rr = t.FilesReader()
			}
			defer rr.Release()
			return out.write(ctx, rr)
		},
	}
	out.flags(cmd)
	cmd.Flags().BoolVar(&files, "files", false, "list the table's files instead: rows, bytes, the options each is read with (a CSV file's dialect and encoding), and those left out with the reason")
	return cmd
}
