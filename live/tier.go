//go:build duckdb_arrow

package live

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/internal/duck"
)

// Options configure a Tier.
type Options struct {
	// DB is the engine's database: live rows sit in it, in LiveCatalog,
	// where the engine's views read them.
	DB *duck.DB
	// Catalog lists the writable tables and takes the files ticks and
	// compactions write.
	Catalog *catalog.Catalog
	// Schema is the database the engine's views live in; writers' own
	// connections USE it, so SyncViews can run on them.
	Schema string
	// Scan is a table expression reading the given files of t, as DuckDB
	// may reach them (through the sandbox's served directory), with the
	// hidden columns after t's (see catalog.Table.ScanWith).
	Scan func(t *catalog.Table, files []*catalog.File, hidden []catalog.Column) (string, error)
	// SyncViews re-makes the engine's views over the catalog as it is now,
	// on c. A tick and a compaction call it inside their hand-over.
	SyncViews func(c *duck.Conn) error
	// Objects is the object store of tables whose archive is on one (nil
	// when every root is local).
	Objects ObjectStore
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Tier is the live tier of every writable table.
type Tier struct {
	opts   Options
	cat    *catalog.Catalog
	log    *slog.Logger
	tables map[string]*tbl // by lower-case name
	conns  []*duck.Conn

	// handover lets a tick or compaction hand files over while no query is
	// between planning and the start of its execution (write lock);
	// queries hold the read lock over that span (see BeginRead).
	handover sync.RWMutex
	readers  readers // queries by compaction epoch

	bg     sync.WaitGroup
	bgCtx  context.Context // ends at Close
	stop   context.CancelFunc
	statMu sync.Mutex
	stats  TickStats
}

// Open creates the live tables of the catalog's writable tables and replays
// their logs. Call it before the engine locks DuckDB down; Start starts the
// ticks.
func Open(ctx context.Context, opts Options) (*Tier, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := &Tier{opts: opts, cat: opts.Catalog, log: log, tables: map[string]*tbl{}}
	tr.bgCtx, tr.stop = context.WithCancel(context.Background())
	var writable []*catalog.Table
	for _, t := range opts.Catalog.Snapshot().Tables {
		if t.Writable != nil {
			writable = append(writable, t)
		}
	}
	if len(writable) == 0 {
		return tr, nil
	}
	c, err := tr.connect()
	if err != nil {
		return nil, err
	}
	if err := c.Exec("ATTACH ':memory:' AS " + LiveCatalog); err != nil {
		tr.Close()
		return nil, fmt.Errorf("live tier: %w", err)
	}
	for _, t := range writable {
		lt, err := tr.openTable(ctx, t)
		if err != nil {
			tr.Close()
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		tr.tables[strings.ToLower(t.Name)] = lt
	}
	return tr, nil
}

func (tr *Tier) connect() (*duck.Conn, error) {
	c, err := tr.opts.DB.Connect()
	if err != nil {
		return nil, err
	}
	tr.conns = append(tr.conns, c)
	return c, nil
}

// Start archives each writable table's live rows every tick, and compacts
// its small files, until Close.
func (tr *Tier) Start() { tr.runTicks(tr.bgCtx) }

// Close stops the ticks, lets one under way finish, closes the logs and
// releases the writer locks. The engine closes the database after it.
func (tr *Tier) Close() {
	tr.stop()
	tr.bg.Wait()
	for _, lt := range tr.tables {
		lt.work.Lock() // let a tick under way finish
		lt.mu.Lock()
		if lt.log != nil {
			lt.log.Close()
		}
		if lt.lockFile != nil {
			lt.lockFile.Close() // releases the writer lock
		}
		lt.mu.Unlock()
		lt.work.Unlock()
	}
	for _, c := range tr.conns {
		c.Close()
	}
	tr.conns = nil
}

// Read is a query's registration with the live tier (see BeginRead).
type Read struct {
	tr      *Tier
	epoch   uint64
	locked  bool
	entered bool
}

// BeginRead registers a query that is about to plan: until Started, no
// tick or compaction hands files over (the catalog snapshot it plans with
// and the live rows it reads are of one moment); until Done, files a
// compaction replaced stay on disk. With no writable table it costs
// nothing.
func (tr *Tier) BeginRead() *Read {
	r := &Read{tr: tr}
	if tr == nil || len(tr.tables) == 0 {
		return r
	}
	tr.handover.RLock()
	r.locked, r.entered = true, true
	r.epoch = tr.readers.enter()
	return r
}

// Started says execution has begun: hand-overs may go on. It may be called
// more than once.
func (r *Read) Started() {
	if r.locked {
		r.locked = false
		r.tr.handover.RUnlock()
	}
}

// Done ends the registration (Started too, if it was not called). It may be
// called more than once.
func (r *Read) Done() {
	r.Started()
	if r.entered {
		r.entered = false
		r.tr.readers.leave(r.epoch)
	}
}

// Has reports whether table takes writes.
func (tr *Tier) Has(table string) bool {
	if tr == nil {
		return false
	}
	_, ok := tr.tables[strings.ToLower(table)]
	return ok
}

// Any reports whether any table takes writes.
func (tr *Tier) Any() bool { return tr != nil && len(tr.tables) > 0 }

// Tables lists the tables that take writes, sorted.
func (tr *Tier) Tables() []string {
	if tr == nil {
		return nil
	}
	var out []string
	for _, lt := range tr.tables {
		out = append(out, lt.name)
	}
	sort.Strings(out)
	return out
}

// Schema is a writable table's Arrow schema (its declared columns).
func (tr *Tier) Schema(table string) (*arrow.Schema, bool) {
	if tr == nil {
		return nil, false
	}
	lt, ok := tr.tables[strings.ToLower(table)]
	if !ok {
		return nil, false
	}
	return lt.arrowSchema, true
}

// Decl is a writable table's name as declared and its declaration.
func (tr *Tier) Decl(table string) (string, *catalog.Writable, bool) {
	if tr == nil {
		return "", nil, false
	}
	lt, ok := tr.tables[strings.ToLower(table)]
	if !ok {
		return "", nil, false
	}
	return lt.name, lt.decl, true
}

// Select reads t's live rows in t's column order; false when t takes no
// writes. The engine's view of t is its files' scan UNION ALL this.
func (tr *Tier) Select(t *catalog.Table) (string, bool) {
	if tr == nil {
		return "", false
	}
	lt, ok := tr.tables[strings.ToLower(t.Name)]
	if !ok {
		return "", false
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = connectors.QuoteIdent(c.Name)
	}
	return fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), lt.ident), true
}

// Generation grows with each write and hand-over of a writable table
// (cached results key on it); false when table takes no writes.
func (tr *Tier) Generation(table string) (uint64, bool) {
	if tr == nil {
		return 0, false
	}
	lt, ok := tr.tables[strings.ToLower(table)]
	if !ok {
		return 0, false
	}
	return lt.gen.Load(), true
}

// TickStats describe what ticks have done, for metrics.
type TickStats struct {
	LiveRows     int64     // rows written and not archived yet, all tables
	LastTick     time.Time // when the last successful tick ended
	Ticks, Fails int64
}

// Stats returns the live tier's figures.
func (tr *Tier) Stats() TickStats {
	var s TickStats
	if tr == nil {
		return s
	}
	for _, lt := range tr.tables {
		lt.mu.Lock()
		s.LiveRows += int64(lt.seq - lt.archived)
		lt.mu.Unlock()
	}
	tr.statMu.Lock()
	s.LastTick, s.Ticks, s.Fails = tr.stats.LastTick, tr.stats.Ticks, tr.stats.Fails
	tr.statMu.Unlock()
	return s
}

// Positions are how far table's sources are written (see AppendAt): after
// a restart, where each source resumes. Nil when table takes no writes or
// has no source positions yet.
func (tr *Tier) Positions(table string) Positions {
	if tr == nil {
		return nil
	}
	lt, ok := tr.tables[strings.ToLower(table)]
	if !ok {
		return nil
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.positions.clone()
}

// Writer reports whether this process writes table (false for a table
// another qry process holds the writer lock of, and for one that takes
// no writes).
func (tr *Tier) Writer(table string) bool {
	if tr == nil {
		return false
	}
	lt, ok := tr.tables[strings.ToLower(table)]
	return ok && !lt.follower
}
