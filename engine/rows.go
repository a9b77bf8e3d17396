//go:build duckdb_arrow

package engine

import (
	"strings"

	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/live"

	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/qry-dev/qry/resultcache"
)

// Rows streams a query's result as Arrow record batches, one DuckDB chunk at
// a time: nothing is materialized beyond the batch being read.
//
// Rows implements array.RecordReader. The caller must call Release when done
// (which cancels the query if it is still running and frees its connection).
// A batch returned by RecordBatch is valid until the next call to Next or
// Release; Retain it to keep it longer.
type Rows struct {
	e      *Engine
	c      *duck.Conn // nil for a result in memory
	ctx    context.Context
	stmt   *duck.Stmt
	res    *duck.Result
	schema *arrow.Schema
	stop   func()

	plan   *Plan
	prefix arrow.RecordBatch // EXPLAIN: qry's own rows, sent first
	sql    string
	began  time.Time
	// read registers the query with the live tier: Started once
	// execution has begun (DuckDB's transaction, and so the snapshot the
	// query reads, is fixed), Done when it is closed.
	read     *live.Read
	copies   func() // ends the registration with the accelerator (see beginRead)
	internal bool   // not reported (an INSERT's count: Exec reported it)
	// inMemory: the result is in replay, batches not read yet (from the
	// result cache, or an INSERT's count); c is nil. collect gathers a
	// result to cache.
	inMemory bool
	replay   []arrow.RecordBatch
	collect  *resultcache.Collector[*Plan]

	mu       sync.Mutex
	refs     int64
	cur      arrow.RecordBatch
	err      error
	done     bool
	rows     atomic.Int64
	bytes    int64
	finished bool
}

var _ array.RecordReader = (*Rows)(nil)

// Query runs one SQL statement with optional positional parameters ($1 or ?)
// and returns its result as a stream. The context cancels the query, also
// while it streams.
//
// Each call is reported once to Options.OnQueryDone: at once if it fails,
// else when the result ends or is released.
func (e *Engine) Query(ctx context.Context, sql string, args ...any) (*Rows, error) {
	if e.insertsIntoLive(sql) {
		return e.insertQuery(ctx, sql, args)
	}
	start := time.Now()
	c, err := e.acquire(ctx)
	if err != nil {
		e.report(ctx, sql, start, nil, 0, 0, err)
		return nil, err
	}
	// With a live tier, the catalog snapshot a query plans with and the
	// live rows its execution reads must be of one moment: a tick cannot
	// happen between planning and the start of execution; and until the
	// query ends, files a compaction replaces stay on disk.
	read := e.live.BeginRead()
	defer read.Started()
	// Likewise the copies of accelerated tables and the views over them.
	copies := e.accel.beginRead()
	defer copies()
	fail := func(plan *Plan, err error) (*Rows, error) {
		err = e.clean(err)
		read.Done()
		e.release(c)
		e.report(ctx, sql, start, plan, 0, 0, err)
		return nil, err
	}
	// Read before the views are synced: the result is of this catalog
	// version or a newer one.
	version := e.cat.Snapshot().Version
	if err := e.syncViewsOn(c); err != nil {
		return fail(nil, err)
	}
	plan, err := e.plan(ctx, sql, c)
	if err != nil {
		return fail(nil, err)
	}
	e.noteCopies(plan)
	explain := plan.Explain
	var collect *resultcache.Collector[*Plan]
	if key := e.cacheKey(sql, args, plan, version); key != "" && explain == "" {
		if ent := e.cache.Get(key, version); ent != nil {
			read.Done()
			e.release(c)
			cp := *ent.Meta
			cp.Cached = true
			return e.inMemory(ctx, sql, &cp, ent.Schema, ent.Batches), nil
		}
		collect = e.cache.Collect(key, version)
	}
	r := &Rows{e: e, c: c, ctx: ctx, refs: 1, plan: plan, sql: sql, began: start, collect: collect, read: read, copies: copies}
	// Interrupt DuckDB when the context ends, whatever it is doing.
	r.stop = c.InterruptOnDone(ctx)
	asWritten := ""
	if plan.Rewritten && explain == "" {
		asWritten = sql
	}
	if err := r.start(explain+plan.SQL, args, expect(plan), asWritten); err != nil {
		if ctx.Err() != nil {
			err = duck.CtxErr(ctx)
		}
		r.err = e.clean(err)
		r.close()
		return nil, r.err
	}
	if explain != "" {
		r.prefix = explainRow(r.schema, plan)
	}
	return r, nil
}

// namesAsWritten are the names DuckDB gives the columns of the statement
// as the client wrote it, when stmt (its rewrite) names some after their
// text, or nil. DuckDB names an unnamed expression after its text: one
// holding a subquery over a pruned reference would otherwise be named
// after qry's rewrite, with the paths of the files.
func (r *Rows) namesAsWritten(stmt *duck.Stmt, text string) []string {
	schema, err := stmt.Schema()
	if err != nil {
		return nil
	}
	derived := false
	for _, f := range schema.Fields() {
		u := strings.ToUpper(f.Name)
		derived = derived || strings.Contains(u, "SELECT") || strings.Contains(u, "FROM")
	}
	if !derived {
		return nil
	}
	orig, err := r.c.Prepare(text)
	if err != nil {
		return nil
	}
	defer orig.Close()
	written, err := orig.Schema()
	if err != nil || written.NumFields() != schema.NumFields() {
		return nil
	}
	names := make([]string, written.NumFields())
	for i, f := range written.Fields() {
		names[i] = f.Name
	}
	return names
}

// insertQuery runs an INSERT given to Query (by the CLI or the shell) as
// Exec does, and returns DuckDB's answer to an INSERT: one row, the count
// of rows written.
func (e *Engine) insertQuery(ctx context.Context, sql string, args []any) (*Rows, error) {
	var sets [][]any
	if len(args) > 0 {
		sets = [][]any{args}
	}
	n, err := e.Exec(ctx, sql, sets...)
	if err != nil {
		return nil, err
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "Count", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(n)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1)
	r := e.inMemory(ctx, sql, &Plan{SQL: sql}, schema, []arrow.RecordBatch{rec})
	r.internal = true // Exec reported the write: the count is not a query of its own
	return r, nil
}

// inMemory is a result already in batches (the Rows takes them over).
func (e *Engine) inMemory(ctx context.Context, sql string, plan *Plan, schema *arrow.Schema, batches []arrow.RecordBatch) *Rows {
	return &Rows{e: e, ctx: ctx, refs: 1, plan: plan, sql: sql, began: time.Now(), schema: schema,
		replay: batches, inMemory: true, stop: func() {}, read: &live.Read{}}
}

type progressKey struct{}

// WithProgress returns a context whose queries report DuckDB's progress
// estimate (percent, -1 when unknown) to fn about every 100 ms while they
// run before their first batch. fn runs on the querying goroutine.
func WithProgress(ctx context.Context, fn func(percent float64)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// Plan returns what the planner did to the statement.
func (r *Rows) Plan() *Plan { return r.plan }

// explainRow is qry's EXPLAIN row, in the schema of DuckDB's EXPLAIN
// (explain_key, explain_value), or nil if the schema is another.
func explainRow(schema *arrow.Schema, p *Plan) arrow.RecordBatch {
	if schema.NumFields() != 2 || schema.Field(0).Type.ID() != arrow.STRING || schema.Field(1).Type.ID() != arrow.STRING {
		return nil
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("qry plan")
	b.Field(1).(*array.StringBuilder).Append(p.String())
	return b.NewRecordBatch()
}

// start prepares and starts sql. expect, if not 0, is the statement kind
// the planner took sql for: DuckDB must agree, or nothing runs. asWritten,
// if set, is the statement sql rewrites: columns are named as in it.
func (r *Rows) start(sql string, args []any, expect duck.Kind, asWritten string) (err error) {
	// DuckDB's positions are in sql: move them to the caller's text.
	defer func() { err = place(err, sql, r.sql) }()
	if r.stmt, err = r.c.Prepare(sql); err != nil {
		return err
	}
	if err := r.e.gate(r.stmt, expect); err != nil {
		return err
	}
	var names []string
	if asWritten != "" {
		names = r.namesAsWritten(r.stmt, asWritten)
	}
	if err := r.stmt.Bind(args); err != nil {
		return err
	}
	report, _ := r.ctx.Value(progressKey{}).(func(float64))
	if r.res, err = r.stmt.Start(r.ctx, report); err != nil {
		return err
	}
	// The result is ready: whatever it reads is fixed.
	r.read.Started()
	if r.copies != nil {
		r.copies()
	}
	if names != nil {
		r.res.Rename(names)
	}
	r.schema = r.res.Schema()
	return nil
}

// Schema implements array.RecordReader.
func (r *Rows) Schema() *arrow.Schema { return r.schema }

// Next fetches the next batch. It returns false at the end or on error (see
// Err).
func (r *Rows) Next() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done || r.err != nil {
		return false
	}
	if r.ctx.Err() != nil {
		r.err = duck.CtxErr(r.ctx)
		return false
	}
	if r.prefix != nil {
		r.cur, r.prefix = r.prefix, nil
		return true
	}
	if r.inMemory {
		if len(r.replay) == 0 {
			r.done = true
			return false
		}
		r.cur, r.replay = r.replay[0], r.replay[1:]
		r.rows.Add(r.cur.NumRows())
		r.bytes += batchBytes(r.cur)
		return true
	}
	var parts []arrow.RecordBatch
	var n int64
	for n < int64(r.e.opts.BatchRows) {
		rec, ok := r.fetch()
		if !ok {
			break
		}
		parts = append(parts, rec)
		n += rec.NumRows()
	}
	switch len(parts) {
	case 0:
		return false
	case 1:
		r.cur = parts[0]
	default:
		// Keep an error fetch() met after the first chunks: it surfaces
		// at the next call.
		cur, err := concat(r.schema, parts, n, r.e.mem)
		if err != nil {
			r.err = err
			return false
		}
		r.cur = cur
	}
	r.rows.Add(n)
	r.bytes += batchBytes(r.cur)
	if lim := r.e.opts; (lim.MaxResultRows > 0 && r.rows.Load() > lim.MaxResultRows) ||
		(lim.MaxResultBytes > 0 && r.bytes > lim.MaxResultBytes) {
		r.cur.Release()
		r.cur = nil
		r.err = fmt.Errorf("%w: the limits are %d rows and %d bytes (0: none)", ErrResultTooLarge, lim.MaxResultRows, lim.MaxResultBytes)
		return false
	}
	if r.collect != nil {
		r.collect.Add(r.cur, batchBytes(r.cur))
	}
	return true
}

// fetch converts DuckDB's next chunk; false at the end or on error (r.done
// or r.err set). r.mu is held.
func (r *Rows) fetch() (arrow.RecordBatch, bool) {
	if r.done || r.err != nil {
		return nil, false
	}
	rec, err := r.res.Fetch(r.ctx)
	switch {
	case err != nil:
		r.err = err
		return nil, false
	case rec == nil:
		r.done = true
		return nil, false
	}
	return rec, true
}

// concat joins batches into one, releasing them.
func concat(schema *arrow.Schema, parts []arrow.RecordBatch, rows int64, mem memory.Allocator) (arrow.RecordBatch, error) {
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	cols := make([]arrow.Array, schema.NumFields())
	for c := range cols {
		arrs := make([]arrow.Array, len(parts))
		for i, p := range parts {
			arrs[i] = p.Column(c)
		}
		col, err := array.Concatenate(arrs, mem)
		if err != nil {
			for _, done := range cols[:c] {
				done.Release()
			}
			return nil, fmt.Errorf("batch column %s: %w", schema.Field(c).Name, err)
		}
		cols[c] = col
	}
	rec := array.NewRecordBatch(schema, cols, rows)
	for _, col := range cols {
		col.Release()
	}
	return rec, nil
}

// RecordBatch implements array.RecordReader.
func (r *Rows) RecordBatch() arrow.RecordBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

// Record implements array.RecordReader.
//
// Deprecated: use RecordBatch.
func (r *Rows) Record() arrow.RecordBatch { return r.RecordBatch() }

// Err implements array.RecordReader.
func (r *Rows) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.e.clean(r.err)
}

// RowsRead is the number of rows streamed so far.
func (r *Rows) RowsRead() int64 { return r.rows.Load() }

// Progress reports DuckDB's estimate of the running query's progress, in
// percent (-1 when unknown).
func (r *Rows) Progress() float64 {
	if r.c == nil {
		return 100
	}
	return r.c.Progress()
}

// Retain implements array.RecordReader.
func (r *Rows) Retain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refs++
}

// Release implements array.RecordReader. The last release cancels the query
// if it is still running and returns the connection to the pool.
func (r *Rows) Release() {
	r.mu.Lock()
	r.refs--
	last := r.refs == 0
	r.mu.Unlock()
	if last {
		r.close()
	}
}

func (r *Rows) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.finished = true
	err := r.err
	if err == nil && !r.done {
		err = ErrCanceled // released before its end
	}
	if !r.internal {
		defer r.e.report(r.ctx, r.sql, r.began, r.plan, r.rows.Load(), r.bytes, r.e.clean(err))
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.prefix != nil {
		r.prefix.Release()
		r.prefix = nil
	}
	if k := r.collect; k != nil {
		r.collect = nil
		k.Finish(r.done && r.err == nil, r.schema, r.plan)
	}
	duck.Release(r.replay)
	r.replay = nil
	r.stop()
	defer r.read.Done()
	if r.c == nil {
		return // in memory
	}
	if r.res != nil {
		r.res.Close() // interrupts a query still producing rows
	}
	if r.stmt != nil {
		r.stmt.Close()
	}
	r.e.release(r.c)
}

// gate refuses, in a sandbox, a prepared statement that is not the read
// the planner analysed: its type, as DuckDB prepared it, must be expect
// (the parser's gate came first; this one sees what DuckDB will run). An
// expect of 0 (a statement of qry's own) takes SELECT or EXPLAIN.
func (e *Engine) gate(stmt *duck.Stmt, expect duck.Kind) error {
	kind := stmt.Kind()
	switch {
	case !e.opts.Sandbox && !e.opts.ReadOnly:
		return nil
	case !e.opts.Sandbox:
		if kind == duck.Select || kind == duck.Explain || kind == duck.Relation {
			return nil
		}
		return ErrReadOnly
	case expect != duck.Other && kind == expect:
		return nil
	case expect == duck.Other && (kind == duck.Select || kind == duck.Explain):
		return nil
	}
	return fmt.Errorf("%w: only SELECT, EXPLAIN, DESCRIBE and SHOW are accepted", ErrForbidden)
}

// expect is the statement kind DuckDB must find for the planned text.
func expect(p *Plan) duck.Kind {
	switch {
	case p.Explain != "":
		return duck.Explain
	case p.Stmt != nil:
		return duck.Select
	}
	return duck.Other
}
