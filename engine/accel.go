//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/internal/duck"
)

// Acceleration modes: a table's copy in DuckDB's native storage, in
// memory or in a database file in the cache directory.
const (
	AccelMemory = "memory"
	AccelDisk   = "disk"
)

// DefaultAccelerateMemory bounds the in-memory copies when
// Options.AccelerateMemory is 0.
const DefaultAccelerateMemory = 4 << 30

// The databases copies live in, the column that says which file a row
// came from, and the registry of the files each copy holds (in the same
// database, changed in the same transaction as the rows: a copy on disk
// is consistent after a crash).
const (
	accelMemDB   = "qry_accel_mem"
	accelDiskDB  = "qry_accel_disk"
	accelFileCol = "_qry_file"
	accelFiles   = "_qry_accel_files"
	// accelSchema holds the copies and their registry (not main: a
	// listing of information_schema's main tables shows catalog tables
	// only).
	accelSchema = "_qry_copies"
	// AccelDBFile is the disk copies' database, in the cache directory.
	AccelDBFile = "accelerated.duckdb"
)

// accelerator keeps the copies of accelerated tables in step with the
// catalog, file by file, in the background. A copy is read only for the
// files it holds as the catalog lists them (same size, modification time
// and ETag); a file it does not hold yet is read from the file, in the
// same table expression. Views and copies change together: a copy's
// commit, and the views' remake over it, happen under mu's write lock,
// which a query holds shared from its planning to the start of its
// execution.
type accelerator struct {
	e     *Engine
	mu    sync.RWMutex
	stMu  sync.RWMutex
	state map[string]*accelCopy // by lower-case table name
	gen   atomic.Uint64         // grows with each commit: the views follow
	c     *duck.Conn            // loads run here, beside queries
	limit int64                 // bytes of in-memory copies
	wake  chan struct{}
	// paused holds the loop between passes (tests: see export_test.go).
	paused sync.Mutex
	stop   context.CancelFunc
	done   chan struct{}
	disk   bool // the disk database is attached

	served    atomic.Int64 // queries that read a copy
	loaded    atomic.Int64 // files loaded into copies
	fallbacks atomic.Int64 // copies dropped or not built (too big, failed)
	statMu    sync.Mutex
	lastSync  time.Time
	poked     time.Time     // the first catalog change not synced yet
	lag       time.Duration // from a catalog change to its copies' commit
	// failed says why a table is read from its files (by lower-case name).
	failed map[string]string
	// synced is the catalog version the copies last caught up with;
	// syncedCh is closed (and replaced) each time it moves.
	synced   uint64
	syncedCh chan struct{}
	running  bool // a pass is under way
}

// accelCopy is one table's copy.
type accelCopy struct {
	table, mode, ident, sig string
	files                   map[string]accelFile // by path
	nextID                  uint32
	bytes                   int64 // in memory (memory mode), as measured at its commits
}

type accelFile struct {
	id    uint32
	size  int64
	mtime int64
	etag  string
}

func (f accelFile) matches(cf *catalog.File) bool {
	return f.size == cf.Size && f.mtime == cf.ModTime.UnixNano() && f.etag == cf.ETag
}

// accelMode is how a table is accelerated ("": not at all): its qry.yaml
// declaration, else Options.Accelerate.
func (e *Engine) accelMode(t *catalog.Table) string {
	if t.Accelerate != "" {
		return t.Accelerate
	}
	if m, ok := e.opts.Accelerate[strings.ToLower(t.Name)]; ok {
		return m
	}
	return e.opts.Accelerate["*"]
}

// wantsAcceleration reports whether any table may be accelerated.
func (e *Engine) wantsAcceleration() bool {
	if len(e.opts.Accelerate) > 0 {
		return true
	}
	for _, t := range e.cat.Snapshot().Tables {
		if t.Accelerate != "" {
			return true
		}
	}
	return false
}

// openAccelerator attaches the copies' databases (before the sandbox
// locks DuckDB down) and reads the registry of the disk copies. Nothing
// runs until start.
func (e *Engine) openAccelerator() error {
	if !e.wantsAcceleration() {
		return nil
	}
	a := &accelerator{e: e, state: map[string]*accelCopy{}, failed: map[string]string{}, wake: make(chan struct{}, 1),
		limit: e.opts.AccelerateMemory, syncedCh: make(chan struct{})}
	if a.limit <= 0 {
		a.limit = DefaultAccelerateMemory
	}
	c, err := e.db.Connect()
	if err != nil {
		return err
	}
	a.c = c
	e.accel = a
	// Compressed, at each checkpoint (see syncTable).
	if err := c.Exec(fmt.Sprintf("ATTACH ':memory:' AS %s (COMPRESS); USE %s", accelMemDB, CatalogName)); err != nil {
		return fmt.Errorf("acceleration: %w", err)
	}
	if err := a.prepare(accelMemDB); err != nil {
		return err
	}
	dir := e.cat.CacheDir()
	if dir == "" {
		return nil // no disk copies without a cache directory
	}
	path := filepath.Join(dir, AccelDBFile)
	if err := c.Exec("ATTACH " + connectors.QuoteString(path) + " AS " + accelDiskDB); err != nil {
		e.log.Warn("acceleration: disk copies unavailable, tables are accelerated in memory", "file", path, "err", err)
		return nil
	}
	a.disk = true
	if err := a.prepare(accelDiskDB); err != nil {
		return err
	}
	return a.load()
}

// prepare makes a database's schema of copies and its registry.
func (a *accelerator) prepare(db string) error {
	err := a.c.Exec(fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s.%s; CREATE TABLE IF NOT EXISTS %s (tbl VARCHAR, mode VARCHAR, sig VARCHAR, id UINTEGER, path VARCHAR, size BIGINT, mtime BIGINT, etag VARCHAR)",
		db, accelSchema, registry(db)))
	if err != nil {
		return fmt.Errorf("acceleration: %w", err)
	}
	return nil
}

// load reads the disk copies' registry: a restart uses them at once.
func (a *accelerator) load() error {
	rows, err := a.c.Query(context.Background(), "SELECT tbl, sig, id, path, size, mtime, etag FROM "+registry(accelDiskDB)+" ORDER BY tbl, id")
	if err != nil {
		return fmt.Errorf("acceleration: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		rec := rows.RecordBatch()
		for i := range int(rec.NumRows()) {
			// Copies: the batch's memory goes with it.
			str := func(c int) string { return strings.Clone(rec.Column(c).(*array.String).Value(i)) }
			name := str(0)
			cp := a.state[strings.ToLower(name)]
			if cp == nil {
				cp = &accelCopy{table: name, mode: AccelDisk, ident: copyIdent(accelDiskDB, name), sig: str(1), files: map[string]accelFile{}}
				a.state[strings.ToLower(name)] = cp
			}
			id := rec.Column(2).(*array.Uint32).Value(i)
			cp.files[str(3)] = accelFile{id: id, size: rec.Column(4).(*array.Int64).Value(i),
				mtime: rec.Column(5).(*array.Int64).Value(i), etag: str(6)}
			cp.nextID = max(cp.nextID, id+1)
		}
	}
	return rows.Err()
}

func copyIdent(db, table string) string {
	return db + "." + accelSchema + "." + connectors.QuoteIdent(table)
}

// registry is the table of the files a database's copies hold.
func registry(db string) string { return db + "." + accelSchema + "." + accelFiles }

// signature is a table's columns as its copy holds them: a change of
// columns rebuilds the copy.
func signature(t *catalog.Table) string {
	var b strings.Builder
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "%q %s;", c.Name, c.Type)
	}
	return b.String()
}

// accelerable reports why a table cannot have a copy ("" when it can).
func accelerable(t *catalog.Table) string {
	for _, c := range t.Columns {
		if strings.ContainsRune(c.Name, 0) || strings.EqualFold(c.Name, accelFileCol) {
			return "a column name the copy cannot hold"
		}
	}
	if len(t.Columns) == 0 {
		return "no columns"
	}
	return ""
}

// start runs the background loop until Close.
func (a *accelerator) start() {
	if a == nil {
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	a.stop, a.done = stop, make(chan struct{})
	go func() {
		defer close(a.done)
		defer func() {
			if p := recover(); p != nil {
				a.e.log.Error("acceleration stopped: tables are read from their files", "panic", p)
			}
		}()
		for {
			a.paused.Lock()
			a.syncAll(ctx)
			a.paused.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-a.wake:
			}
		}
	}()
}

// poke has the loop look at the catalog again.
func (a *accelerator) poke() {
	if a == nil {
		return
	}
	a.statMu.Lock()
	if a.poked.IsZero() {
		a.poked = time.Now()
	}
	a.statMu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// close stops the loop (a load under way is interrupted and rolled back).
func (a *accelerator) close() {
	if a == nil {
		return
	}
	if a.stop != nil {
		a.stop()
		a.c.Interrupt()
		<-a.done
	}
	a.c.Close()
}

// syncAll brings every accelerated table's copy in step with the catalog.
func (a *accelerator) syncAll(ctx context.Context) {
	snap := a.e.cat.Snapshot()
	a.statMu.Lock()
	poked := a.poked
	a.poked = time.Time{}
	a.running = true
	a.statMu.Unlock()
	want := map[string]bool{}
	for _, t := range snap.Tables {
		mode := a.e.accelMode(t)
		if mode == "" {
			continue
		}
		if mode == AccelDisk && !a.disk {
			mode = AccelMemory
		}
		want[strings.ToLower(t.Name)] = true
		if why := accelerable(t); why != "" {
			a.fail(t.Name, why)
			continue
		}
		if err := a.syncTable(ctx, t, mode); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.fail(t.Name, err.Error())
		}
	}
	// Copies of tables gone from the catalog, or no longer accelerated.
	a.stMu.RLock()
	var gone []*accelCopy
	for name, cp := range a.state {
		if !want[name] {
			gone = append(gone, cp)
		}
	}
	a.stMu.RUnlock()
	for _, cp := range gone {
		if err := a.drop(cp); err != nil {
			a.e.log.Warn("acceleration: copy not dropped", "table", cp.table, "err", err)
		}
	}
	a.statMu.Lock()
	a.lastSync = time.Now()
	if !poked.IsZero() {
		a.lag = time.Since(poked)
	}
	a.synced = snap.Version
	a.running = false
	close(a.syncedCh)
	a.syncedCh = make(chan struct{})
	a.statMu.Unlock()
}

// WaitAccelerated waits until the copies of accelerated tables hold the
// catalog as it is now (or have been given up, see the log), or ctx ends.
func (e *Engine) WaitAccelerated(ctx context.Context) error {
	a := e.accel
	if a == nil {
		return nil
	}
	for {
		if err := e.syncViews(ctx); err != nil {
			return err
		}
		version := e.cat.Snapshot().Version
		a.statMu.Lock()
		done := a.synced >= version && a.poked.IsZero() && a.lastSync.After(time.Time{})
		ch := a.syncedCh
		a.statMu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fail records why a table is read from its files, logging it once.
func (a *accelerator) fail(table, why string) {
	a.statMu.Lock()
	defer a.statMu.Unlock()
	if a.failed[strings.ToLower(table)] != why {
		a.failed[strings.ToLower(table)] = why
		a.fallbacks.Add(1)
		a.e.log.Warn("acceleration: table read from its files", "table", table, "reason", why)
	}
}

// syncTable applies the catalog's changes to one table's copy in one
// transaction: rows of removed or changed files are deleted by file, new
// files appended. A change of columns or mode rebuilds it.
func (a *accelerator) syncTable(ctx context.Context, t *catalog.Table, mode string) (err error) {
	name := strings.ToLower(t.Name)
	a.stMu.RLock()
	old := a.state[name]
	a.stMu.RUnlock()
	db := accelMemDB
	if mode == AccelDisk {
		db = accelDiskDB
	}
	sig := signature(t)
	rebuild := old == nil || old.sig != sig || old.mode != mode || old.ident != copyIdent(db, t.Name)
	next := &accelCopy{table: t.Name, mode: mode, ident: copyIdent(db, t.Name), sig: sig, files: map[string]accelFile{}}
	var removed []uint32
	var added []*catalog.File
	if !rebuild {
		next.nextID = old.nextID
		listed := map[string]*catalog.File{}
		for _, f := range t.Files {
			listed[f.Path] = f
		}
		for p, f := range old.files {
			if cf, ok := listed[p]; ok && f.matches(cf) {
				next.files[p] = f
			} else {
				removed = append(removed, f.id)
			}
		}
		for _, f := range t.Files {
			if _, ok := next.files[f.Path]; !ok {
				added = append(added, f)
			}
		}
		if len(removed) == 0 && len(added) == 0 {
			return nil
		}
	} else {
		added = t.Files
	}
	if mode == AccelMemory {
		var onDisk int64
		for _, f := range t.Files {
			onDisk += f.Size
		}
		if onDisk > a.limit {
			if old != nil {
				if err := a.drop(old); err != nil {
					return err
				}
			}
			return fmt.Errorf("its files (%d bytes) exceed the acceleration memory (%d bytes)", onDisk, a.limit)
		}
	}
	before := a.inMemory()
	if err := a.c.Exec("BEGIN TRANSACTION"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = a.c.Exec("ROLLBACK")
		}
	}()
	via := a.e.via()
	reg := registry(db)
	if rebuild {
		if old != nil {
			oldDB := accelMemDB
			if old.mode == AccelDisk {
				oldDB = accelDiskDB
			}
			if err := a.c.Exec(fmt.Sprintf("DROP TABLE IF EXISTS %s; DELETE FROM %s WHERE tbl = %s", old.ident, registry(oldDB), connectors.QuoteString(old.table))); err != nil {
				return err
			}
		}
		scan, err := t.Scan(nil, via)
		if err != nil {
			return err
		}
		if err := a.c.Exec(fmt.Sprintf("DROP TABLE IF EXISTS %s; CREATE TABLE %s AS SELECT *, NULL::UINTEGER AS %s FROM %s WHERE false",
			next.ident, next.ident, accelFileCol, scan)); err != nil {
			return err
		}
	}
	if len(removed) > 0 {
		ids := idList(removed)
		if err := a.c.Exec(fmt.Sprintf("DELETE FROM %s WHERE %s IN (%s); DELETE FROM %s WHERE tbl = %s AND id IN (%s)",
			next.ident, accelFileCol, ids, reg, connectors.QuoteString(t.Name), ids)); err != nil {
			return err
		}
	}
	for _, f := range added {
		if err := ctx.Err(); err != nil {
			return err
		}
		scan, err := t.Scan([]*catalog.File{f}, via)
		if err != nil {
			return err
		}
		id := next.nextID
		next.nextID++
		af := accelFile{id: id, size: f.Size, mtime: f.ModTime.UnixNano(), etag: f.ETag}
		stmt := fmt.Sprintf("INSERT INTO %s SELECT *, %d FROM %s; INSERT INTO %s VALUES (%s, %s, %s, %d, %s, %d, %d, %s)",
			next.ident, id, scan, reg, connectors.QuoteString(t.Name), connectors.QuoteString(mode), connectors.QuoteString(sig),
			id, connectors.QuoteString(f.Path), af.size, af.mtime, connectors.QuoteString(af.etag))
		if err := a.c.Exec(stmt); err != nil {
			return fmt.Errorf("loading %s: %w", f.Path, err)
		}
		next.files[f.Path] = af
		a.loaded.Add(1)
	}
	// The commit and the views' remake are one step for queries.
	a.mu.Lock()
	if err := a.c.Exec("COMMIT"); err != nil {
		a.mu.Unlock()
		return err
	}
	a.stMu.Lock()
	a.state[name] = next
	a.stMu.Unlock()
	a.gen.Add(1)
	if err := a.e.syncViewsOn(a.c); err != nil {
		a.e.log.Warn("acceleration: views not remade", "err", err)
	}
	a.mu.Unlock()
	a.statMu.Lock()
	delete(a.failed, name)
	a.statMu.Unlock()
	// A checkpoint compresses what was loaded (an in-memory database
	// keeps rows as they came until then): scans get faster and the copy
	// smaller, 1.2 GB to 0.2 GB for TPC-H SF1's lineitem.
	if err := a.c.Exec("CHECKPOINT " + db); err != nil {
		a.e.log.Debug("acceleration: checkpoint put off", "db", db, "err", err)
	}
	if mode != AccelMemory {
		return nil
	}
	bytes := max(0, a.inMemory()-before)
	if old != nil && !rebuild {
		bytes += old.bytes
	}
	a.stMu.Lock()
	next.bytes = bytes
	a.stMu.Unlock()
	if a.memoryBytes() > a.limit {
		if err := a.drop(next); err != nil {
			return err
		}
		return fmt.Errorf("its copy does not fit in the acceleration memory (%d bytes)", a.limit)
	}
	return nil
}

// drop removes a table's copy; its queries read the files again.
func (a *accelerator) drop(cp *accelCopy) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stMu.Lock()
	delete(a.state, strings.ToLower(cp.table))
	a.stMu.Unlock()
	a.gen.Add(1)
	if err := a.e.syncViewsOn(a.c); err != nil {
		return err
	}
	db := accelMemDB
	if cp.mode == AccelDisk {
		db = accelDiskDB
	}
	return a.c.Exec(fmt.Sprintf("DROP TABLE IF EXISTS %s; DELETE FROM %s WHERE tbl = %s", cp.ident, registry(db), connectors.QuoteString(cp.table)))
}

// inMemory is what DuckDB's in-memory tables take (copies and live rows).
func (a *accelerator) inMemory() int64 {
	recs, err := a.c.ReadAll(context.Background(), "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'")
	if err != nil {
		return 0
	}
	defer duck.Release(recs)
	if len(recs) == 0 || recs[0].NumRows() == 0 {
		return 0
	}
	return recs[0].Column(0).(*array.Int64).Value(0)
}

// memoryBytes is what the in-memory copies take, as measured.
func (a *accelerator) memoryBytes() int64 {
	a.stMu.RLock()
	defer a.stMu.RUnlock()
	var n int64
	for _, cp := range a.state {
		n += cp.bytes
	}
	return n
}

func idList(ids []uint32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(uint64(id), 10)
	}
	return strings.Join(s, ", ")
}

// expr is a table expression reading files of t (all when nil) from its
// copy where the copy holds them as listed, and from the files for the
// rest; false when the copy holds none of them.
func (a *accelerator) expr(t *catalog.Table, files []*catalog.File) (string, bool, error) {
	if a == nil {
		return "", false, nil
	}
	a.stMu.RLock()
	cp := a.state[strings.ToLower(t.Name)]
	a.stMu.RUnlock()
	if cp == nil || cp.sig != signature(t) {
		return "", false, nil
	}
	if files == nil {
		files = t.Files
	}
	var in []uint32
	var missing []*catalog.File
	for _, f := range files {
		if af, ok := cp.files[f.Path]; ok && af.matches(f) {
			in = append(in, af.id)
		} else {
			missing = append(missing, f)
		}
	}
	if len(in) == 0 {
		return "", false, nil
	}
	sel := fmt.Sprintf("SELECT * EXCLUDE (%s) FROM %s", accelFileCol, cp.ident)
	switch {
	case len(in) == len(cp.files):
	case len(in) <= len(cp.files)/2:
		sort.Slice(in, func(i, j int) bool { return in[i] < in[j] })
		sel += fmt.Sprintf(" WHERE %s IN (%s)", accelFileCol, idList(in))
	default:
		keep := map[uint32]bool{}
		for _, id := range in {
			keep[id] = true
		}
		var out []uint32
		for _, f := range cp.files {
			if !keep[f.id] {
				out = append(out, f.id)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		sel += fmt.Sprintf(" WHERE %s NOT IN (%s)", accelFileCol, idList(out))
	}
	if len(missing) > 0 {
		scan, err := t.Scan(missing, a.e.via())
		if err != nil {
			return "", false, err
		}
		sel += " UNION ALL SELECT * FROM " + scan
	}
	return "(" + sel + ")", true, nil
}

// copyNote says how much of a table reference a copy serves, for the
// plan ("" when none).
func (a *accelerator) copyNote(t *catalog.Table) string {
	if a == nil {
		return ""
	}
	a.stMu.RLock()
	cp := a.state[strings.ToLower(t.Name)]
	a.stMu.RUnlock()
	if cp == nil || cp.sig != signature(t) {
		return ""
	}
	held := 0
	for _, f := range t.Files {
		if af, ok := cp.files[f.Path]; ok && af.matches(f) {
			held++
		}
	}
	if held == 0 {
		return ""
	}
	if held == len(t.Files) {
		return "read from its " + cp.mode + " copy"
	}
	return fmt.Sprintf("read from its %s copy (%d of %d files; the rest from the files)", cp.mode, held, len(t.Files))
}

// AccelStats describe the accelerated tables, for metrics.
type AccelStats struct {
	Tables      int           // tables with a copy
	MemoryBytes int64         // in-memory copies, as measured
	Queries     int64         // queries that read a copy
	Fallbacks   int64         // copies not built or dropped (too big, failed)
	LoadedFiles int64         // files loaded into copies since Open
	Lag         time.Duration // from the last catalog change to its copies' commit
	// InSync is true when the copies hold the catalog as it is and no
	// load or checkpoint is under way.
	InSync bool
}

// Accelerating reports whether any table may have a copy.
func (e *Engine) Accelerating() bool { return e.accel != nil }

// AccelStats returns the acceleration's figures.
func (e *Engine) AccelStats() AccelStats {
	a := e.accel
	if a == nil {
		return AccelStats{}
	}
	a.stMu.RLock()
	n := len(a.state)
	a.stMu.RUnlock()
	a.statMu.Lock()
	lag := a.lag
	inSync := !a.running && a.poked.IsZero() && a.synced >= e.cat.Snapshot().Version && !a.lastSync.IsZero()
	a.statMu.Unlock()
	return AccelStats{InSync: inSync, Tables: n, MemoryBytes: a.memoryBytes(), Queries: a.served.Load(), Fallbacks: a.fallbacks.Load(), LoadedFiles: a.loaded.Load(), Lag: lag}
}

// beginRead registers a query that is about to plan: no copy commits, and
// the views stay as they are, until the returned func is called (at the
// start of its execution; calling it again does nothing). Without
// acceleration it costs nothing.
func (a *accelerator) beginRead() func() {
	if a == nil {
		return func() {}
	}
	a.mu.RLock()
	var once sync.Once
	return func() { once.Do(a.mu.RUnlock) }
}

// noteCopies says in the plan which table references read a copy, and
// counts the query as served from one.
func (e *Engine) noteCopies(p *Plan) {
	if e.accel == nil || p.FromStats {
		return
	}
	snap := e.cat.Snapshot()
	served := false
	for i, tp := range p.Tables {
		t, ok := snap.Table(tp.Table)
		if !ok {
			continue
		}
		if note := e.accel.copyNote(t); note != "" {
			p.Tables[i].Copy = note
			served = true
		}
	}
	if served {
		e.accel.served.Add(1)
	}
}
