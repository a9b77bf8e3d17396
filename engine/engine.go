//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mapping "github.com/duckdb/duckdb-go-bindings"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/sql"
)

// CatalogName and SchemaName are where catalog tables live in SQL.
const (
	CatalogName = "qry"
	SchemaName  = "main"
)

// Options configure an Engine. The zero value of each field is usable.
type Options struct {
	// Threads is DuckDB's worker thread count; 0 means GOMAXPROCS.
	Threads int
	// MemoryLimit is DuckDB's memory limit ("4GB"); empty keeps DuckDB's
	// default (80% of RAM).
	MemoryLimit string
	// TempDir is where DuckDB spills; empty keeps DuckDB's default.
	TempDir string
	// MaxConns is the number of DuckDB connections, so the number of
	// queries that run at once; 0 means 8. Further queries wait.
	MaxConns int
	// BatchRows is the number of rows a result batch aims at: DuckDB
	// produces 2,048-row chunks, and Rows joins consecutive chunks up to
	// this size (fewer, larger batches travel faster). 0 means 65,536;
	// 1 or less than 2,048 sends DuckDB's chunks as they are.
	BatchRows int
	// MaxQueue bounds the queries waiting for a connection; beyond it
	// Query fails at once with ErrBusy. 0 means 64; -1 means no bound.
	MaxQueue int
	// MaxTempSize caps DuckDB's spill files ("10GB"); empty keeps DuckDB's
	// default.
	MaxTempSize string
	// Sandbox confines statements to the catalog: only SELECT, EXPLAIN,
	// DESCRIBE and SHOW over catalog tables (and INSERT into writable
	// ones) pass the gate, which refuses what it cannot analyse; DuckDB
	// may open exactly the files the catalog serves (see served), its
	// configuration is locked and extensions are neither installed nor
	// loaded.
	Sandbox bool
	// SandboxDir is where a sandboxed engine keeps its links to the
	// files it serves (a directory of its own is made inside and removed
	// at Close); empty means the system's temporary directory.
	SandboxDir string
	// MaxResultRows and MaxResultBytes bound one result (bytes of Arrow
	// buffers): past them the stream ends with ErrResultTooLarge. 0 means
	// no bound.
	MaxResultRows  int64
	MaxResultBytes int64
	// ResultCacheBytes sizes the cache of small results (bytes of Arrow
	// buffers; one result may take a 16th of it). 0 means no cache; only a
	// sandboxed engine caches.
	ResultCacheBytes int64
	// OnQueryDone, if set, receives each query's stats when it is over
	// (for the query log and metrics). It must not block.
	OnQueryDone func(QueryStats)
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// DefaultOptions returns the defaults spelled out.
func DefaultOptions() Options {
	return Options{Threads: runtime.GOMAXPROCS(0), MaxConns: 8, BatchRows: 65536}
}

// Engine runs SQL over a catalog with an embedded DuckDB. It is safe for
// concurrent use.
type Engine struct {
	cat  *catalog.Catalog
	log  *slog.Logger
	db   mapping.Database
	pool chan *conn
	all  []*conn
	opts Options
	mem  *poolAllocator

	parser *sql.Parser
	cache  *resultCache
	// consistent are the functions whose value depends on their arguments
	// alone (see consistentFunctions): only statements calling nothing
	// else are cached.
	consistent map[string]bool
	served     *served // in a sandbox: the files DuckDB may open

	waiting atomic.Int64

	viewMu      sync.Mutex
	viewVersion uint64
	views       map[string]bool
	rejectViews map[string]bool // <table>_rejects views (lower-case names)

	// The live tier: writable tables by lower-case name.
	live      map[string]*liveTable
	extra     []*conn // writers' own connections
	stopTicks context.CancelFunc
	// tickMu lets a tick hand rows from the live tier to the archive while
	// no query is between planning and the start of its execution (write
	// lock); queries hold the read lock over that span.
	tickMu      sync.RWMutex
	readers     readers // queries by compaction epoch
	bg          sync.WaitGroup
	bgCtx       context.Context // ends at Close
	writes      atomic.Int64
	tickStatsMu sync.Mutex
	lastTick    time.Time
	ticks       int64
	tickFails   int64

	closeOnce sync.Once
}

type conn struct {
	c mapping.Connection
}

// Open starts DuckDB and makes every catalog table queryable by name.
func Open(ctx context.Context, cat *catalog.Catalog, opts Options) (*Engine, error) {
	def := DefaultOptions()
	if opts.Threads <= 0 {
		opts.Threads = def.Threads
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = def.MaxConns
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = def.BatchRows
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = 64
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var cfg mapping.Config
	if mapping.CreateConfig(&cfg) == mapping.StateError {
		return nil, errors.New("open duckdb: cannot create config")
	}
	defer mapping.DestroyConfig(&cfg)
	settings := map[string]string{
		"threads":                      fmt.Sprint(opts.Threads),
		"autoinstall_known_extensions": "false",
		"autoload_known_extensions":    "false",
		// Errors come as JSON: type, message, position (see newQueryError).
		"errors_as_json": "true",
	}
	if opts.MemoryLimit != "" {
		settings["memory_limit"] = opts.MemoryLimit
	}
	if opts.TempDir != "" {
		settings["temp_directory"] = opts.TempDir
	}
	if opts.MaxTempSize != "" {
		settings["max_temp_directory_size"] = opts.MaxTempSize
	}
	for k, v := range settings {
		if mapping.SetConfig(cfg, k, v) == mapping.StateError {
			return nil, fmt.Errorf("open duckdb: setting %s=%s rejected", k, v)
		}
	}
	e := &Engine{cat: cat, log: log, opts: opts, mem: &poolAllocator{}, pool: make(chan *conn, opts.MaxConns), views: map[string]bool{}}
	var msg string
	if mapping.OpenExt(":memory:", &e.db, cfg, &msg) == mapping.StateError {
		return nil, fmt.Errorf("open duckdb: %s", msg)
	}
	parser, err := sql.OpenParser()
	if err != nil {
		mapping.Close(&e.db)
		return nil, err
	}
	e.parser = parser
	if opts.Sandbox {
		e.cache = newResultCache(opts.ResultCacheBytes)
	}
	for i := 0; i < opts.MaxConns; i++ {
		c := &conn{}
		if mapping.Connect(e.db, &c.c) == mapping.StateError {
			e.Close()
			return nil, errors.New("open duckdb: cannot connect")
		}
		e.all = append(e.all, c)
		// Tables live in a catalog named qry (schema main), the name
		// clients see in metadata: qry.main.trips works as well as trips.
		if i == 0 {
			// Footers read once stay in memory: repeated scans skip them.
			if err := exec(c, "ATTACH ':memory:' AS "+CatalogName+"; SET GLOBAL parquet_metadata_cache = true"); err != nil {
				e.Close()
				return nil, fmt.Errorf("open duckdb: %w", err)
			}
		}
		if err := exec(c, "USE "+CatalogName); err != nil {
			e.Close()
			return nil, fmt.Errorf("open duckdb: %w", err)
		}
		e.pool <- c
	}
	if e.cache != nil {
		if e.consistent, err = consistentFunctions(e.all[0], e); err != nil {
			e.Close()
			return nil, fmt.Errorf("open duckdb: %w", err)
		}
	}
	// GeoJSON geometries are DuckDB's built-in GEOMETRY; with the spatial
	// extension installed, its ST_* functions work on them too. qry never
	// downloads it.
	if err := exec(e.all[0], "LOAD spatial"); err != nil {
		log.Debug("spatial extension not loaded", "err", err)
	}
	if err := e.openLive(ctx); err != nil {
		e.Close()
		return nil, err
	}
	if opts.Sandbox {
		if e.served, err = openServed(opts.SandboxDir, cat.Roots()); err != nil {
			e.Close()
			return nil, err
		}
		for _, r := range e.served.coarse {
			log.Warn("sandbox: data root on another file system than the sandbox directory: DuckDB may read any file under it; put --cache-dir on the same file system for file-exact confinement",
				"root", r, "sandbox_dir", e.served.dir)
		}
		if err := e.lockDown(); err != nil {
			e.Close()
			return nil, err
		}
	}
	if err := e.syncViews(ctx); err != nil {
		e.Close()
		return nil, err
	}
	if len(e.live) > 0 {
		e.bgCtx, e.stopTicks = context.WithCancel(context.Background())
		e.runTicks(e.bgCtx)
	}
	return e, nil
}

// Catalog returns the engine's catalog.
func (e *Engine) Catalog() *catalog.Catalog { return e.cat }

// Close closes every connection and the database. Queries still streaming
// must be released first.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		if e.stopTicks != nil {
			e.stopTicks()
		}
		e.bg.Wait()
		for _, lt := range e.live {
			lt.tickMu.Lock() // let a tick under way finish
			lt.mu.Lock()
			if lt.log != nil {
				lt.log.Close()
			}
			if lt.lockFile != nil {
				lt.lockFile.Close() // releases the writer lock
			}
			lt.mu.Unlock()
			lt.tickMu.Unlock()
		}
		if e.cache != nil {
			e.cache.clear()
		}
		for _, c := range append(e.all, e.extra...) {
			mapping.Disconnect(&c.c)
		}
		mapping.Close(&e.db)
		if e.parser != nil {
			e.parser.Close()
		}
		e.served.close()
	})
	return nil
}

func (e *Engine) acquire(ctx context.Context) (*conn, error) {
	select {
	case c := <-e.pool:
		return c, nil
	default:
	}
	if n := e.waiting.Add(1); e.opts.MaxQueue > 0 && n > int64(e.opts.MaxQueue) {
		e.waiting.Add(-1)
		return nil, ErrBusy
	}
	defer e.waiting.Add(-1)
	select {
	case c := <-e.pool:
		return c, nil
	case <-ctx.Done():
		return nil, ctxErr(ctx)
	}
}

// Waiting is the number of queries waiting for a connection.
func (e *Engine) Waiting() int { return int(e.waiting.Load()) }

// Running is the number of queries holding a connection (running or
// streaming).
func (e *Engine) Running() int { return len(e.all) - len(e.pool) }

// MaxConns is the number of queries that may run at once.
func (e *Engine) MaxConns() int { return len(e.all) }

// lockDown confines DuckDB: it opens files under the served directory
// only, no extension is loaded or installed, and the configuration is
// locked. The order matters: allowed_directories must be set before
// external access is disabled.
func (e *Engine) lockDown() error {
	dirs := e.served.allowed()
	for i, d := range dirs {
		dirs[i] = connectors.QuoteString(d)
	}
	stmt := fmt.Sprintf("SET allowed_directories = [%s]; SET enable_external_access = false; "+
		"SET autoinstall_known_extensions = false; SET autoload_known_extensions = false; SET lock_configuration = true",
		strings.Join(dirs, ", "))
	if err := exec(e.all[0], stmt); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

func (e *Engine) release(c *conn) { e.pool <- c }

// Refresh refreshes the catalog and the engine's view of it.
func (e *Engine) Refresh(ctx context.Context) error {
	if err := e.cat.Refresh(ctx); err != nil {
		return err
	}
	return e.syncViews(ctx)
}

// syncViews makes each catalog table a view over its files, if the catalog
// changed since the last call.
func (e *Engine) syncViews(ctx context.Context) error {
	if e.cat.Snapshot().Version == e.viewVersionNow() {
		return nil
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return err
	}
	defer e.release(c)
	return e.syncViewsOn(ctx, c)
}

func (e *Engine) viewVersionNow() uint64 {
	e.viewMu.Lock()
	defer e.viewMu.Unlock()
	return e.viewVersion
}

// tableExpr is a table expression reading a table's given files (all when
// nil) and, for a writable table, its live rows.
func (e *Engine) tableExpr(t *catalog.Table, files []*catalog.File) (string, error) {
	scan, err := t.Scan(files, e.via())
	if err != nil {
		return "", err
	}
	if lt, ok := e.live[strings.ToLower(t.Name)]; ok {
		return fmt.Sprintf("(SELECT * FROM %s UNION ALL %s)", scan, lt.liveSelect(t)), nil
	}
	return scan, nil
}

// syncViewsOn is syncViews on a connection the caller holds.
func (e *Engine) syncViewsOn(_ context.Context, c *conn) error {
	snap := e.cat.Snapshot()
	e.viewMu.Lock()
	defer e.viewMu.Unlock()
	if snap.Version == e.viewVersion {
		return nil
	}
	keep := map[string]bool{}
	for _, t := range snap.Tables {
		scan, err := e.tableExpr(t, nil)
		if err != nil {
			e.log.Warn("table not queryable", "table", t.Name, "err", err)
			continue
		}
		stmt := fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT * FROM %s", connectors.QuoteIdent(t.Name), scan)
		if err := exec(c, stmt); err != nil {
			e.log.Warn("table not queryable", "table", t.Name, "err", err)
			continue
		}
		keep[strings.ToLower(t.Name)] = true
	}
	rejects := map[string]bool{}
	for _, t := range snap.Tables {
		if t.Options["on_error"] != "reject" {
			continue
		}
		name := t.Name + "_rejects"
		if _, clash := snap.Table(name); clash {
			e.log.Warn("rejects table not made: a table has its name", "table", name)
			continue
		}
		stmt := fmt.Sprintf("CREATE OR REPLACE VIEW %s AS %s", connectors.QuoteIdent(name), rejectsSelect(t))
		if err := exec(c, stmt); err != nil {
			e.log.Warn("rejects table not made", "table", name, "err", err)
			continue
		}
		keep[strings.ToLower(name)] = true
		rejects[strings.ToLower(name)] = true
	}
	e.rejectViews = rejects
	for name := range e.views {
		if !keep[name] {
			if err := exec(c, "DROP VIEW IF EXISTS "+connectors.QuoteIdent(name)); err != nil {
				return err
			}
		}
	}
	e.views = keep
	e.viewVersion = snap.Version
	if e.served != nil {
		// Links of files the catalog no longer serves go, but for files a
		// compaction replaced that running queries may still read.
		e.served.prune(e.cat.IsRetired)
	}
	return nil
}

// via is how DuckDB reaches a file: through the served directory in a
// sandbox, else directly.
func (e *Engine) via() func(string) (string, error) {
	if e.served == nil {
		return nil
	}
	return e.served.path
}

// rejectsSelect is a SELECT of the lines the table's files left out:
// file, line, column, error, original_line.
func rejectsSelect(t *catalog.Table) string {
	text := func(s string) string { return connectors.QuoteString(strings.ReplaceAll(s, "\x00", "")) }
	var rows []string
	for _, f := range t.Files {
		for _, r := range f.Rejects {
			rows = append(rows, fmt.Sprintf("(%s, %d, %s, %s, %s)", text(f.Path), r.Line, text(r.Column), text(r.Error), text(r.Text)))
		}
	}
	if len(rows) == 0 {
		return "SELECT NULL::VARCHAR AS file, NULL::BIGINT AS line, NULL::VARCHAR AS \"column\", NULL::VARCHAR AS error, NULL::VARCHAR AS original_line WHERE false"
	}
	return "SELECT file, line, NULLIF(\"column\", '') AS \"column\", error, original_line FROM (VALUES " + strings.Join(rows, ", ") +
		") v(file, line, \"column\", error, original_line)"
}

// isRejects reports whether name is a <table>_rejects view.
func (e *Engine) isRejects(name string) bool {
	e.viewMu.Lock()
	defer e.viewMu.Unlock()
	return e.rejectViews[strings.ToLower(name)]
}

// hasView reports whether a table is queryable (its view exists).
func (e *Engine) hasView(name string) bool {
	e.viewMu.Lock()
	defer e.viewMu.Unlock()
	return e.views[strings.ToLower(name)]
}

// exec runs a statement of qry's own and discards its result.
func exec(c *conn, stmt string) error {
	var res mapping.Result
	defer mapping.DestroyResult(&res)
	if mapping.Query(c.c, stmt, &res) == mapping.StateError {
		return newQueryError(mapping.ResultError(&res), "")
	}
	return nil
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return ErrCanceled
}

// Watch refreshes the catalog every interval until ctx ends: new, changed
// and removed files are seen without a restart (only changed files are
// inspected again). Errors are logged; the previous snapshot stays.
func (e *Engine) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			start := time.Now()
			before := e.cat.Snapshot().Version
			if err := e.Refresh(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("catalog refresh failed", "err", err)
				continue
			}
			if v := e.cat.Snapshot().Version; v != before {
				e.log.Info("catalog refreshed", "version", v, "took", time.Since(start))
			}
		}
	}
}

// DuckDBVersion is the version of the embedded DuckDB library.
func DuckDBVersion() string { return mapping.LibraryVersion() }
