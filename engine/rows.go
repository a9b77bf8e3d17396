//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	mapping "github.com/duckdb/duckdb-go-bindings"
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
	c      *conn
	ctx    context.Context
	stmt   mapping.PreparedStatement
	res    mapping.Result
	hasRes bool
	opts   mapping.ArrowOptions
	schema *arrow.Schema
	stop   func()

	plan   *Plan
	prefix arrow.RecordBatch // EXPLAIN: qry's own rows, sent first
	sql    string            // the caller's text
	ran    string            // the text DuckDB runs
	began  time.Time
	// started, if set, is called once execution has begun (DuckDB's
	// transaction, and so the snapshot the query reads, is fixed).
	started  func()
	internal bool // qry's own query: not reported
	borrowed bool // c belongs to the caller: not returned to the pool
	// inMemory: the result is in replay, batches not read yet (from the
	// result cache, or an INSERT's count); c is nil. collect gathers a
	// result to cache.
	inMemory bool
	replay   []arrow.RecordBatch
	collect  *collector
	// entered: the query counts as a reader of its compaction epoch
	// until it is closed.
	entered bool
	epoch   uint64

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
	// happen between planning and the start of execution.
	locked := len(e.live) > 0
	var epoch uint64
	if locked {
		e.tickMu.RLock()
		// Until it ends, files a compaction replaces stay on disk.
		epoch = e.readers.enter()
	}
	entered := locked
	unlock := func() {
		if locked {
			locked = false
			e.tickMu.RUnlock()
		}
	}
	defer unlock()
	fail := func(plan *Plan, err error) (*Rows, error) {
		err = e.clean(err)
		if entered {
			e.readers.leave(epoch)
		}
		e.release(c)
		e.report(ctx, sql, start, plan, 0, 0, err)
		return nil, err
	}
	// Read before the views are synced: the result is of this catalog
	// version or a newer one.
	version := e.cat.Snapshot().Version
	if err := e.syncViewsOn(ctx, c); err != nil {
		return fail(nil, err)
	}
	plan, err := e.plan(ctx, sql, c)
	if err != nil {
		return fail(nil, err)
	}
	explain := plan.Explain
	var collect *collector
	if key := e.cacheKey(sql, args, plan, version); key != "" && explain == "" {
		if ent := e.cache.get(key, version); ent != nil {
			if entered {
				e.readers.leave(epoch)
			}
			e.release(c)
			cp := *ent.plan
			cp.Cached = true
			return &Rows{e: e, ctx: ctx, refs: 1, plan: &cp, sql: sql, began: start, schema: ent.schema,
				replay: ent.batches, inMemory: true, stop: func() {}}, nil
		}
		collect = &collector{key: key, version: version}
	}
	r := &Rows{e: e, c: c, ctx: ctx, refs: 1, plan: plan, sql: sql, began: start, collect: collect, entered: entered, epoch: epoch}
	// Interrupt DuckDB when the context ends, whatever it is doing.
	r.stop = interruptOnDone(ctx, c)
	r.started = unlock
	if err := r.start(explain+plan.SQL, args, plan.expect()); err != nil {
		if ctx.Err() != nil {
			err = ctxErr(ctx)
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
	// Exec reported the write: the count is not a query of its own.
	return &Rows{e: e, ctx: ctx, refs: 1, plan: &Plan{SQL: sql}, sql: sql, began: time.Now(), schema: schema,
		replay: []arrow.RecordBatch{rec}, inMemory: true, internal: true, stop: func() {}}, nil
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

// start prepares and starts sql. expect, if not 0, is the statement type
// the planner took sql for: DuckDB must agree, or nothing runs.
func (r *Rows) start(sql string, args []any, expect mapping.StatementType) (err error) {
	r.ran = sql
	// DuckDB's positions are in sql: move them to the caller's text.
	defer func() { err = place(err, sql, r.sql) }()
	if r.stmt, err = prepare(r.c, sql); err != nil {
		return err
	}
	if err := r.e.gate(r.stmt, expect); err != nil {
		return err
	}
	if err := bind(r.stmt, args); err != nil {
		return err
	}
	var pending mapping.PendingResult
	defer mapping.DestroyPending(&pending)
	if mapping.PendingPreparedStreaming(r.stmt, &pending) == mapping.StateError {
		return newQueryError(mapping.PendingError(pending), sql)
	}
	report, _ := r.ctx.Value(progressKey{}).(func(float64))
	last := time.Now()
	for {
		st := mapping.PendingExecuteTask(pending)
		if report != nil && time.Since(last) > 100*time.Millisecond {
			last = time.Now()
			p := mapping.QueryProgress(r.c.c)
			pct, _, _ := mapping.QueryProgressTypeMembers(&p)
			report(pct)
		}
		if st == mapping.PendingStateError {
			return newQueryError(mapping.PendingError(pending), sql)
		}
		if st == mapping.PendingStateResultReady {
			break
		}
		if r.ctx.Err() != nil {
			return ctxErr(r.ctx)
		}
	}
	if mapping.ExecutePending(pending, &r.res) == mapping.StateError {
		r.hasRes = true
		return newQueryError(mapping.ResultError(&r.res), sql)
	}
	if r.started != nil {
		// The result is ready: whatever it reads is fixed.
		r.started()
	}
	r.hasRes = true
	r.opts = mapping.ResultGetArrowOptions(&r.res)
	cc := mapping.ColumnCount(&r.res)
	names := make([]string, cc)
	types := make([]mapping.LogicalType, cc)
	for i := range cc {
		names[i] = mapping.ColumnName(&r.res, i)
		types[i] = mapping.ColumnLogicalType(&r.res, i)
	}
	r.schema, err = arrowSchema(r.opts, types, names)
	return err
}

// arrowSchema converts DuckDB column types to an Arrow schema, destroying
// the types.
func arrowSchema(opts mapping.ArrowOptions, types []mapping.LogicalType, names []string) (*arrow.Schema, error) {
	defer func() {
		for i := range types {
			mapping.DestroyLogicalType(&types[i])
		}
	}()
	schema, ed := mapping.NewArrowSchema(opts, types, names)
	if err := errorData(ed); err != nil {
		return nil, fmt.Errorf("result schema: %w", err)
	}
	return schema, nil
}

// prepare prepares exactly one statement; input with more is refused before
// anything runs.
func prepare(c *conn, sql string) (mapping.PreparedStatement, error) {
	var stmt mapping.PreparedStatement
	var ext mapping.ExtractedStatements
	n := mapping.ExtractStatements(c.c, sql, &ext)
	defer mapping.DestroyExtracted(&ext)
	if n == 0 {
		if msg := mapping.ExtractStatementsError(ext); msg != "" {
			return stmt, newQueryError(msg, sql)
		}
		return stmt, ErrEmpty
	}
	if n > 1 {
		return stmt, fmt.Errorf("%w: found %d statements", ErrMultipleStatements, n)
	}
	if mapping.PrepareExtractedStatement(c.c, ext, 0, &stmt) == mapping.StateError {
		err := newQueryError(mapping.PrepareError(stmt), sql)
		mapping.DestroyPrepare(&stmt)
		return stmt, err
	}
	return stmt, nil
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
		r.err = ctxErr(r.ctx)
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
		r.collect.add(r.cur, r.e.cache.entryMax)
	}
	return true
}

// fetch converts DuckDB's next chunk; false at the end or on error (r.done
// or r.err set). r.mu is held.
func (r *Rows) fetch() (arrow.RecordBatch, bool) {
	if r.done || r.err != nil {
		return nil, false
	}
	chunk := mapping.FetchChunk(r.res)
	if chunk.Ptr == nil {
		switch msg := mapping.ResultError(&r.res); {
		case r.ctx.Err() != nil:
			// Interrupted: DuckDB may end the result without an error
			// message, which must not read as a complete result.
			r.err = ctxErr(r.ctx)
		case msg != "":
			r.err = place(newQueryError(msg, r.ran), r.ran, r.sql)
		}
		r.done = true
		return nil, false
	}
	defer mapping.DestroyDataChunk(&chunk)
	rec, ed := mapping.DataChunkToArrowArray(r.opts, r.schema, chunk)
	if err := errorData(ed); err != nil {
		r.err = err
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
	p := mapping.QueryProgress(r.c.c)
	pct, _, _ := mapping.QueryProgressTypeMembers(&p)
	return pct
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
		if r.done && r.err == nil && !k.over {
			r.e.cache.put(&cacheEntry{key: k.key, version: k.version, schema: r.schema, batches: k.batches, bytes: k.bytes, plan: r.plan})
		} else {
			release(k.batches)
		}
	}
	release(r.replay)
	r.replay = nil
	r.stop()
	if r.c == nil {
		return // served from the cache
	}
	if r.hasRes {
		if !r.done && r.err == nil {
			// Stop a query still producing rows before destroying it.
			mapping.Interrupt(r.c.c)
		}
		mapping.DestroyArrowOptions(&r.opts)
		mapping.DestroyResult(&r.res)
	}
	mapping.DestroyPrepare(&r.stmt)
	if !r.borrowed {
		r.e.release(r.c)
	}
	if r.entered {
		r.entered = false
		r.e.readers.leave(r.epoch)
	}
}

// bind binds positional parameters.
func bind(stmt mapping.PreparedStatement, args []any) error {
	n := int(mapping.NParams(stmt))
	if len(args) != n {
		return fmt.Errorf("%w: the statement takes %d parameters, %d given", ErrParams, n, len(args))
	}
	for i, a := range args {
		idx := mapping.IdxT(i + 1)
		var st mapping.State
		switch v := a.(type) {
		case nil:
			st = mapping.BindNull(stmt, idx)
		case bool:
			st = mapping.BindBoolean(stmt, idx, v)
		case int:
			st = mapping.BindInt64(stmt, idx, int64(v))
		case int8:
			st = mapping.BindInt8(stmt, idx, v)
		case int16:
			st = mapping.BindInt16(stmt, idx, v)
		case int32:
			st = mapping.BindInt32(stmt, idx, v)
		case int64:
			st = mapping.BindInt64(stmt, idx, v)
		case uint8:
			st = mapping.BindUInt8(stmt, idx, v)
		case uint16:
			st = mapping.BindUInt16(stmt, idx, v)
		case uint32:
			st = mapping.BindUInt32(stmt, idx, v)
		case uint64:
			st = mapping.BindUInt64(stmt, idx, v)
		case float32:
			st = mapping.BindFloat(stmt, idx, v)
		case float64:
			st = mapping.BindDouble(stmt, idx, v)
		case string:
			st = mapping.BindVarchar(stmt, idx, v)
		case []byte:
			st = mapping.BindBlob(stmt, idx, v)
		case time.Time:
			us := v.UnixMicro()
			if v.Location() == time.UTC || v.Location() == nil {
				st = mapping.BindTimestamp(stmt, idx, mapping.NewTimestamp(us))
			} else {
				st = mapping.BindTimestampTZ(stmt, idx, mapping.NewTimestamp(us))
			}
		default:
			return fmt.Errorf("%w: parameter %d has unsupported type %T", ErrParams, i+1, a)
		}
		if st == mapping.StateError {
			return fmt.Errorf("%w: parameter %d (%v) does not fit: %s", ErrParams, i+1, a, duckdbMessage(mapping.PrepareError(stmt)))
		}
	}
	return nil
}

// gate refuses, in a sandbox, a prepared statement that is not the read
// the planner analysed: its type, as DuckDB prepared it, must be expect
// (the parser's gate came first; this one sees what DuckDB will run). An
// expect of 0 (a statement of qry's own) takes SELECT or EXPLAIN.
func (e *Engine) gate(stmt mapping.PreparedStatement, expect mapping.StatementType) error {
	if !e.opts.Sandbox {
		return nil
	}
	switch typ := mapping.PreparedStatementType(stmt); {
	case expect != 0 && typ == expect:
		return nil
	case expect == 0 && (typ == mapping.StatementTypeSelect || typ == mapping.StatementTypeExplain):
		return nil
	}
	return fmt.Errorf("%w: only SELECT, EXPLAIN, DESCRIBE and SHOW are accepted", ErrForbidden)
}

// expect is the statement type DuckDB must find for the planned text.
func (p *Plan) expect() mapping.StatementType {
	switch {
	case p.Explain != "":
		return mapping.StatementTypeExplain
	case p.parsed:
		return mapping.StatementTypeSelect
	}
	return 0
}

// interruptOnDone interrupts the connection's query when ctx ends. The
// returned stop must be called before the connection goes back to the pool:
// it waits for an interrupt already under way, which would otherwise hit the
// connection's next query.
func interruptOnDone(ctx context.Context, c *conn) func() {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		mapping.Interrupt(c.c)
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
		}
	}
}
