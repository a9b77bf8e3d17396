//go:build duckdb_arrow

package engine

import (
	"errors"
	"slices"

	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/live"
	"github.com/qry-dev/qry/live/kafka"

	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/internal/served"
	"github.com/qry-dev/qry/resultcache"
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
	// ReadOnly refuses, outside the sandbox too, statements that are not
	// reads (DuckDB prepares them as something else than a SELECT, EXPLAIN
	// or relation): a server writes only by appending to writable tables.
	// The sandbox implies it.
	ReadOnly bool
	// SandboxDir is where a sandboxed engine keeps its links to the
	// files it serves (a directory of its own is made inside and removed
	// at Close); empty means the system's temporary directory.
	SandboxDir string
	// MaxResultRows and MaxResultBytes bound one result (bytes of Arrow
	// buffers): past them the stream ends with ErrResultTooLarge. 0 means
	// no bound.
	MaxResultRows  int64
	MaxResultBytes int64
	// PartitionBytes is the target size of one part of a result read in
	// parts (Partitions); 0 means DefaultPartitionBytes.
	PartitionBytes int64
	// MaxPartitions bounds the parts of one result; 0 means
	// DefaultMaxPartitions.
	MaxPartitions int
	// MaxSubscriptions bounds the subscriptions open at once; beyond it
	// Subscribe fails with ErrBusy. 0 means 64; -1 means no bound.
	MaxSubscriptions int
	// Sources starts the Kafka sources of the writable tables this
	// process writes (qry serve); off, their topics are not read (a
	// one-shot qry query reads the table as it is).
	Sources bool
	// SubscribeBuffer and SubscribeMaxLag are the defaults of
	// SubscribeOptions.Buffer and MaxLag (0: theirs).
	SubscribeBuffer int64
	SubscribeMaxLag uint64
	// ResultCacheBytes sizes the cache of small results (bytes of Arrow
	// buffers; one result may take a 16th of it). 0 means no cache; only a
	// sandboxed engine caches.
	ResultCacheBytes int64
	// ExtensionDir is where DuckDB extensions are looked for (see
	// duck.FindExtension for the layouts); empty means DuckDB's own
	// ~/.duckdb/extensions. Extensions are loaded from it at Open, never
	// installed, and never by SQL.
	ExtensionDir string
	// Extensions must load at Open (Open fails, naming each missing one
	// and how to get it). The spatial extension is loaded besides when it
	// is found: GeoJSON tables then gain its ST_* functions.
	Extensions []string
	// Accelerate names tables (lower-case; "*" for every table) to keep a
	// copy of in DuckDB's native storage, with their mode (AccelMemory or
	// AccelDisk); qry.yaml's accelerate: per table comes first.
	Accelerate map[string]string
	// AccelerateMemory bounds the in-memory copies, in bytes (0:
	// DefaultAccelerateMemory): a table that does not fit is read from its
	// files.
	AccelerateMemory int64
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
	// sources feed writable tables from Kafka (this process writes them).
	sources []*kafka.Source
	subs    subscriptionStats
	aggs    map[string]bool // DuckDB's aggregate functions, read at Open
	cat     *catalog.Catalog
	log     *slog.Logger
	db      *duck.DB
	pool    chan *duck.Conn
	all     []*duck.Conn
	opts    Options
	mem     *poolAllocator

	parser    *sql.Parser
	parsed    memo[*sql.Statement]      // parse trees by text
	described memo[*Statement]          // descriptions by text, at a catalog version
	cache     *resultcache.Cache[*Plan] // nil: no cache
	// consistent are the functions whose value depends on their arguments
	// alone (see consistentFunctions): only statements calling nothing
	// else are cached.
	consistent map[string]bool
	served     *served.Files // in a sandbox: the files DuckDB may open

	waiting atomic.Int64

	viewMu      sync.Mutex
	viewVersion uint64
	views       map[string]bool
	rejectViews map[string]bool // <table>_rejects views (lower-case names)
	primed      primed          // on object storage: see prime
	stale       map[string]bool // tables to refresh before the next query (see changedObject)

	live    *live.Tier // the writable tables
	spatial bool       // the spatial extension is loaded

	accel     *accelerator // nil: no table is accelerated
	viewAccel uint64       // the copies' generation the views were made with

	closeOnce sync.Once
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
	settings := map[string]string{
		"threads":                      fmt.Sprint(opts.Threads),
		"autoinstall_known_extensions": "false",
		"autoload_known_extensions":    "false",
		// Errors come as JSON: type, message, position (see duck's
		// newError).
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
	db, err := duck.Open(settings)
	if err != nil {
		return nil, err
	}
	e := &Engine{cat: cat, log: log, opts: opts, db: db, mem: &poolAllocator{}, pool: make(chan *duck.Conn, opts.MaxConns), views: map[string]bool{}}
	parser, err := sql.OpenParser()
	if err != nil {
		db.Close()
		return nil, err
	}
	e.parser = parser
	if opts.Sandbox {
		e.cache = resultcache.New[*Plan](opts.ResultCacheBytes)
	}
	for i := 0; i < opts.MaxConns; i++ {
		c, err := db.Connect()
		if err != nil {
			e.Close()
			return nil, err
		}
		e.all = append(e.all, c)
		// Tables live in a catalog named qry (schema main), the name
		// clients see in metadata: qry.main.trips works as well as trips.
		if i == 0 {
			// Footers read once stay in memory: repeated scans skip them.
			if err := c.Exec("ATTACH ':memory:' AS " + CatalogName + "; SET GLOBAL parquet_metadata_cache = true"); err != nil {
				e.Close()
				return nil, fmt.Errorf("open duckdb: %w", err)
			}
		}
		if err := c.Exec("USE " + CatalogName); err != nil {
			e.Close()
			return nil, fmt.Errorf("open duckdb: %w", err)
		}
		e.pool <- c
	}
	if e.cache != nil {
		if e.consistent, err = consistentFunctions(e.all[0]); err != nil {
			e.Close()
			return nil, fmt.Errorf("open duckdb: %w", err)
		}
	}
	if err := e.loadExtensions(); err != nil {
		e.Close()
		return nil, err
	}
	if e.aggs, err = aggregateFunctions(e.all[0]); err != nil {
		e.Close()
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	if err := e.openStorage(ctx); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.openAccelerator(); err != nil {
		e.Close()
		return nil, err
	}
	var objects live.ObjectStore
	if s3, _ := cat.Storage(); s3 != nil {
		objects = s3
	}
	e.live, err = live.Open(ctx, live.Options{DB: db, Catalog: cat, Schema: CatalogName, Logger: log, Objects: objects,
		Scan: func(t *catalog.Table, files []*catalog.File, hidden []catalog.Column) (string, error) {
			return t.ScanWith(files, e.via(), hidden)
		},
		SyncViews: func(c *duck.Conn) error { return e.syncViewsOn(c) }})
	if err != nil {
		e.Close()
		return nil, err
	}
	if opts.Sandbox {
		if e.served, err = served.Open(opts.SandboxDir, cat.Roots()); err != nil {
			e.Close()
			return nil, err
		}
		for _, r := range e.served.Coarse {
			log.Warn("sandbox: data root on another file system than the sandbox directory: DuckDB may read any file under it; put --cache-dir on the same file system for file-exact confinement",
				"root", r, "sandbox_dir", e.served.Dir)
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
	e.live.Start()
	if err := e.startSources(); err != nil {
		e.Close()
		return nil, err
	}
	e.accel.start()
	return e, nil
}

// loadExtensions loads Options.Extensions, and spatial when it is found:
// GeoJSON geometries are DuckDB's built-in GEOMETRY, and with the spatial
// extension its ST_* functions work on them too. qry never downloads one.
func (e *Engine) loadExtensions() error {
	dir := e.opts.ExtensionDir
	if dir == "" {
		dir = duck.DefaultExtensionDir()
	}
	var missing []error
	for _, name := range e.opts.Extensions {
		path, err := duck.FindExtension(dir, name)
		if err != nil {
			missing = append(missing, err)
			continue
		}
		if err := e.all[0].Load(path); err != nil {
			return err
		}
		e.spatial = e.spatial || name == "spatial"
		e.log.Debug("extension loaded", "name", name, "path", path)
	}
	if err := errors.Join(missing...); err != nil {
		return err
	}
	if slices.Contains(e.opts.Extensions, "spatial") {
		return nil
	}
	path, err := duck.FindExtension(dir, "spatial")
	if err != nil {
		e.log.Debug("spatial extension not loaded", "err", err)
		return nil
	}
	if err := e.all[0].Load(path); err != nil {
		e.log.Warn("spatial extension not loaded", "err", err)
		return nil
	}
	e.spatial = true
	return nil
}

// Catalog returns the engine's catalog.
func (e *Engine) Catalog() *catalog.Catalog { return e.cat }

// Close closes every connection and the database. Queries still streaming
// must be released first.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		for _, s := range e.sources {
			s.Close()
		}
		if e.live != nil {
			e.live.Close()
		}
		e.accel.close()
		e.cache.Clear()
		for _, c := range e.all {
			c.Close()
		}
		if e.db != nil {
			e.db.Close()
		}
		if e.parser != nil {
			e.parser.Close()
		}
		e.served.Close()
	})
	return nil
}

func (e *Engine) acquire(ctx context.Context) (*duck.Conn, error) {
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
		return nil, duck.CtxErr(ctx)
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
	dirs := e.served.Allowed()
	for i, d := range dirs {
		dirs[i] = connectors.QuoteString(d)
	}
	stmt := fmt.Sprintf("SET allowed_directories = [%s]; SET enable_external_access = false; "+
		"SET autoinstall_known_extensions = false; SET autoload_known_extensions = false; SET lock_configuration = true",
		strings.Join(dirs, ", "))
	if err := e.all[0].Exec(stmt); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

func (e *Engine) release(c *duck.Conn) { e.pool <- c }

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
	if e.viewsCurrent() {
		return nil
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return err
	}
	defer e.release(c)
	return e.syncViewsOn(c)
}

// viewsCurrent reports whether the views are those of the catalog as it is
// and of the accelerated copies as they are.
func (e *Engine) viewsCurrent() bool {
	version := e.cat.Snapshot().Version
	e.viewMu.Lock()
	defer e.viewMu.Unlock()
	return version == e.viewVersion && (e.accel == nil || e.accel.gen.Load() == e.viewAccel)
}

// tableExpr is a table expression reading a table's given files (all when
// nil) and, for a writable table, its live rows.
func (e *Engine) tableExpr(t *catalog.Table, files []*catalog.File) (string, error) {
	var scan string
	var ok bool
	var err error
	// A copy holds whole files: pieces of files are read from the files.
	if !slices.ContainsFunc(files, func(f *catalog.File) bool { return f.Range != nil }) {
		if scan, ok, err = e.accel.expr(t, files); err != nil {
			return "", err
		}
	}
	if !ok {
		if scan, err = t.Scan(files, e.via()); err != nil {
			return "", err
		}
	}
	if rows, ok := e.live.Select(t); ok {
		return fmt.Sprintf("(SELECT * FROM %s UNION ALL %s)", scan, rows), nil
	}
	return scan, nil
}

// syncViewsOn is syncViews on a connection the caller holds. On object
// storage, a table with an object that changed since the catalog listed it
// is refreshed first (see prime).
func (e *Engine) syncViewsOn(c *duck.Conn) error {
	for attempt := 0; ; attempt++ {
		stale, err := e.syncViewsOnce(c, attempt < 2)
		if err != nil || len(stale) == 0 {
			return err
		}
		for _, t := range stale {
			err := e.cat.RefreshTable(context.Background(), t)
			if errors.Is(err, catalog.ErrNotFound) { // a table a root's listing found
				err = e.cat.Refresh(context.Background())
			}
			if err != nil {
				return err
			}
		}
	}
}

// syncViewsOnce makes the views of the catalog's snapshot, unless refresh
// is set and a table must be refreshed first: those tables are returned.
func (e *Engine) syncViewsOnce(c *duck.Conn, refresh bool) ([]string, error) {
	snap := e.cat.Snapshot()
	e.viewMu.Lock()
	defer e.viewMu.Unlock()
	if len(e.stale) > 0 && refresh {
		var stale []string
		for t := range e.stale {
			stale = append(stale, t)
		}
		clear(e.stale)
		return stale, nil
	}
	var accelGen uint64
	if e.accel != nil {
		accelGen = e.accel.gen.Load()
	}
	if snap.Version == e.viewVersion && accelGen == e.viewAccel {
		return nil, nil
	}
	if snap.Version != e.viewVersion {
		e.accel.poke()
	}
	stale, err := e.prime(context.Background(), snap)
	if err != nil {
		return nil, err
	}
	if len(stale) > 0 && refresh {
		return stale, nil
	}
	keep := map[string]bool{}
	for _, t := range snap.Tables {
		scan, err := e.tableExpr(t, nil)
		if err != nil {
			e.log.Warn("table not queryable", "table", t.Name, "err", err)
			continue
		}
		stmt := fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT * FROM %s", connectors.QuoteIdent(t.Name), scan)
		if err := c.Exec(stmt); err != nil {
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
		stmt := fmt.Sprintf("CREATE OR REPLACE VIEW %s AS %s", connectors.QuoteIdent(name), t.RejectsSelect())
		if err := c.Exec(stmt); err != nil {
			e.log.Warn("rejects table not made", "table", name, "err", err)
			continue
		}
		keep[strings.ToLower(name)] = true
		rejects[strings.ToLower(name)] = true
	}
	e.rejectViews = rejects
	for name := range e.views {
		if !keep[name] {
			if err := c.Exec("DROP VIEW IF EXISTS " + connectors.QuoteIdent(name)); err != nil {
				return nil, err
			}
		}
	}
	e.views = keep
	e.viewVersion, e.viewAccel = snap.Version, accelGen
	if e.served != nil {
		// Links of files the catalog no longer serves go, but for files a
		// compaction replaced that running queries may still read.
		e.served.Prune(e.cat.IsRetired)
	}
	return nil, nil
}

// via is how DuckDB reaches a file: through the served directory in a
// sandbox, else directly.
func (e *Engine) via() func(string) (string, error) {
	if e.served == nil {
		return nil
	}
	return e.served.Path
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

// QuoteIdent quotes a name as a SQL identifier.
func QuoteIdent(name string) string { return connectors.QuoteIdent(name) }

// DuckDBVersion is the version of the embedded DuckDB library.
func DuckDBVersion() string { return duck.Version() }
