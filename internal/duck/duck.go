//go:build duckdb_arrow

package duck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	mapping "github.com/duckdb/duckdb-go-bindings"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/sql"
)

var (
	// ErrCanceled is returned when the caller cancelled a statement.
	ErrCanceled = fault.New(fault.Canceled, "query canceled")
	// ErrTimeout is returned when a statement ran past its deadline.
	ErrTimeout = fault.New(fault.Timeout, "query timed out")
	// ErrParams is wrapped when parameters do not match a statement.
	ErrParams = fault.New(fault.Params, "bad parameters")
)

// CtxErr is ErrTimeout or ErrCanceled, as ctx ended.
func CtxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return ErrCanceled
}

// DB is an in-memory DuckDB database.
type DB struct{ db mapping.Database }

// Open opens an in-memory database with the given settings.
func Open(settings map[string]string) (*DB, error) {
	var cfg mapping.Config
	if mapping.CreateConfig(&cfg) == mapping.StateError {
		return nil, errors.New("open duckdb: cannot create config")
	}
	defer mapping.DestroyConfig(&cfg)
	for k, v := range settings {
		if mapping.SetConfig(cfg, k, v) == mapping.StateError {
			return nil, fmt.Errorf("open duckdb: setting %s=%s rejected", k, v)
		}
	}
	d := &DB{}
	var msg string
	if mapping.OpenExt(":memory:", &d.db, cfg, &msg) == mapping.StateError {
		return nil, fmt.Errorf("open duckdb: %s", msg)
	}
	return d, nil
}

// Connect opens a connection.
func (d *DB) Connect() (*Conn, error) {
	c := &Conn{}
	if mapping.Connect(d.db, &c.c) == mapping.StateError {
		return nil, errors.New("open duckdb: cannot connect")
	}
	return c, nil
}

// Close closes the database; its connections must be closed first.
func (d *DB) Close() { mapping.Close(&d.db) }

// Version is the version of the DuckDB library.
func Version() string { return mapping.LibraryVersion() }

// Conn is one DuckDB connection: one statement at a time.
type Conn struct{ c mapping.Connection }

// Close disconnects.
func (c *Conn) Close() { mapping.Disconnect(&c.c) }

// Exec runs statements of qry's own and discards their results.
func (c *Conn) Exec(stmt string) error {
	var res mapping.Result
	defer mapping.DestroyResult(&res)
	if mapping.Query(c.c, stmt, &res) == mapping.StateError {
		return newError(mapping.ResultError(&res), "")
	}
	return nil
}

// Interrupt stops the connection's running statement.
func (c *Conn) Interrupt() { mapping.Interrupt(c.c) }

// Progress is DuckDB's estimate of the running statement's progress, in
// percent (-1 when unknown).
func (c *Conn) Progress() float64 {
	p := mapping.QueryProgress(c.c)
	pct, _, _ := mapping.QueryProgressTypeMembers(&p)
	return pct
}

// InterruptOnDone interrupts the connection's statement when ctx ends. The
// returned stop must be called before the connection runs anything else:
// it waits for an interrupt already under way, which would otherwise hit
// the next statement.
func (c *Conn) InterruptOnDone(ctx context.Context) (stop func()) {
	fired := make(chan struct{})
	after := context.AfterFunc(ctx, func() {
		c.Interrupt()
		close(fired)
	})
	return func() {
		if !after() {
			<-fired
		}
	}
}

// Prepare prepares exactly one statement; input with more is refused before
// anything runs (DuckDB would run all but the last while preparing).
func (c *Conn) Prepare(text string) (*Stmt, error) {
	s := &Stmt{c: c, text: text}
	var ext mapping.ExtractedStatements
	n := mapping.ExtractStatements(c.c, text, &ext)
	defer mapping.DestroyExtracted(&ext)
	if n == 0 {
		if msg := mapping.ExtractStatementsError(ext); msg != "" {
			return nil, newError(msg, text)
		}
		return nil, sql.ErrEmpty
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: found %d statements", sql.ErrMultipleStatements, n)
	}
	if mapping.PrepareExtractedStatement(c.c, ext, 0, &s.s) == mapping.StateError {
		err := newError(mapping.PrepareError(s.s), text)
		mapping.DestroyPrepare(&s.s)
		return nil, err
	}
	return s, nil
}

// ReadAll runs a query of qry's own and returns its batches (the caller
// releases them).
func (c *Conn) ReadAll(ctx context.Context, query string) ([]arrow.RecordBatch, error) {
	r, err := c.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return Collect(r)
}

// Query prepares and starts a query of qry's own, interrupted when ctx
// ends; the caller reads and closes the reader.
func (c *Conn) Query(ctx context.Context, query string) (*Reader, error) {
	stop := c.InterruptOnDone(ctx)
	s, err := c.Prepare(query)
	if err != nil {
		stop()
		return nil, err
	}
	res, err := s.Start(ctx, nil)
	if err != nil {
		s.Close()
		stop()
		return nil, err
	}
	return &Reader{ctx: ctx, s: s, res: res, stop: stop, refs: 1}, nil
}

// Stmt is a prepared statement.
type Stmt struct {
	c    *Conn
	s    mapping.PreparedStatement
	text string // what was prepared: DuckDB's positions are in it
}

// Close destroys the statement.
func (s *Stmt) Close() { mapping.DestroyPrepare(&s.s) }

// Kind is what a prepared statement does, as DuckDB sees it.
type Kind int

// The kinds qry tells apart.
const (
	Other Kind = iota
	Select
	Explain
	Insert
	Relation
)

// Kind is the statement's kind.
func (s *Stmt) Kind() Kind {
	switch mapping.PreparedStatementType(s.s) {
	case mapping.StatementTypeSelect:
		return Select
	case mapping.StatementTypeExplain:
		return Explain
	case mapping.StatementTypeInsert:
		return Insert
	case mapping.StatementTypeRelation:
		return Relation
	}
	return Other
}

// Schema is the statement's result schema. A column whose type DuckDB
// cannot tell before parameters are bound (SELECT ?) has type arrow.Null.
func (s *Stmt) Schema() (*arrow.Schema, error) {
	schema, err := s.schema()
	if err != nil && strings.Contains(err.Error(), "without active transaction") {
		// A type whose Arrow form DuckDB looks up in its catalog (a
		// GEOMETRY's CRS, written as PROJJSON) needs a transaction, which
		// an idle connection has none of: describe inside one.
		if s.c.Exec("BEGIN TRANSACTION") == nil {
			defer func() { _ = s.c.Exec("ROLLBACK") }()
			return s.schema()
		}
	}
	return schema, err
}

func (s *Stmt) schema() (*arrow.Schema, error) {
	var opts mapping.ArrowOptions
	mapping.ConnectionGetArrowOptions(s.c.c, &opts)
	defer mapping.DestroyArrowOptions(&opts)
	cc := mapping.PreparedStatementColumnCount(s.s)
	fields := make([]arrow.Field, cc)
	for i := range cc {
		name := mapping.PreparedStatementColumnName(s.s, i)
		lt := mapping.PreparedStatementColumnLogicalType(s.s, i)
		if id := mapping.GetTypeId(lt); id == mapping.TypeInvalid || id == mapping.TypeAny || id == mapping.TypeSQLNull {
			mapping.DestroyLogicalType(&lt)
			fields[i] = arrow.Field{Name: name, Type: arrow.Null, Nullable: true}
			continue
		}
		one, err := arrowSchema(opts, []mapping.LogicalType{lt}, []string{name})
		if err != nil {
			return nil, err
		}
		fields[i] = one.Field(0)
	}
	return arrow.NewSchema(fields, nil), nil
}

// Params describes the statement's parameters ($1, $2, ...); one whose type
// DuckDB cannot tell yet is arrow.Null.
func (s *Stmt) Params() *arrow.Schema {
	var opts mapping.ArrowOptions
	mapping.ConnectionGetArrowOptions(s.c.c, &opts)
	defer mapping.DestroyArrowOptions(&opts)
	n := mapping.NParams(s.s)
	fields := make([]arrow.Field, n)
	for i := range n {
		name := fmt.Sprintf("$%d", i+1)
		lt := mapping.ParamLogicalType(s.s, i+1)
		fields[i] = arrow.Field{Name: name, Type: arrow.Null, Nullable: true}
		if mapping.GetTypeId(lt) != mapping.TypeInvalid && mapping.GetTypeId(lt) != mapping.TypeAny {
			if ps, err := arrowSchema(opts, []mapping.LogicalType{lt}, []string{name}); err == nil {
				fields[i] = ps.Field(0)
				fields[i].Nullable = true
			}
			continue
		}
		mapping.DestroyLogicalType(&lt)
	}
	return arrow.NewSchema(fields, nil)
}

// Exec runs the statement with args and discards its result.
func (s *Stmt) Exec(args []any) error {
	mapping.ClearBindings(s.s)
	if err := s.Bind(args); err != nil {
		return err
	}
	var res mapping.Result
	defer mapping.DestroyResult(&res)
	if mapping.ExecutePrepared(s.s, &res) == mapping.StateError {
		return newError(mapping.ResultError(&res), s.text)
	}
	return nil
}

// Bind binds positional parameters.
func (s *Stmt) Bind(args []any) error {
	stmt := s.s
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
			return fmt.Errorf("%w: parameter %d (%v) does not fit: %s", ErrParams, i+1, a, Message(mapping.PrepareError(stmt)))
		}
	}
	return nil
}

// Start executes the bound statement as a stream and waits until its
// result is ready (whatever it reads is then fixed). progress, if set, is
// given DuckDB's estimate about every 100 ms meanwhile. The caller has the
// connection interrupted when ctx ends (InterruptOnDone): that is what
// stops a query under way.
func (s *Stmt) Start(ctx context.Context, progress func(percent float64)) (*Result, error) {
	var pending mapping.PendingResult
	defer mapping.DestroyPending(&pending)
	if mapping.PendingPreparedStreaming(s.s, &pending) == mapping.StateError {
		return nil, newError(mapping.PendingError(pending), s.text)
	}
	// DuckDB clears a connection's interrupt when a query begins, so an
	// interrupt from a context that ended before (while the statement was
	// planned, say) is lost, and a long first task would run on unbounded:
	// the query has begun now (its tasks may already run on DuckDB's
	// threads), so an end from here on interrupts it, and one before is
	// caught here, and sent again.
	if ctx.Err() != nil {
		s.c.Interrupt()
		return nil, CtxErr(ctx)
	}
	if progress != nil {
		if err := s.runTasks(ctx, pending, progress); err != nil {
			return nil, err
		}
	}
	// Without progress to report, DuckDB runs the query up to its result
	// in this one call, in its own loop; an end of ctx interrupts it (see
	// InterruptOnDone). Run from Go, the same loop is a call into C per
	// step, tens of thousands a query while DuckDB's other threads work:
	// that cost 2-4% of the TPC-H queries' time through Flight SQL, with
	// the client on the same cores (benchmarks/README.md).
	r := &Result{c: s.c}
	if mapping.ExecutePending(pending, &r.res) == mapping.StateError {
		err := newError(mapping.ResultError(&r.res), s.text)
		mapping.DestroyResult(&r.res)
		if ctx.Err() != nil {
			err = CtxErr(ctx)
		}
		return nil, err
	}
	r.opts = mapping.ResultGetArrowOptions(&r.res)
	cc := mapping.ColumnCount(&r.res)
	names := make([]string, cc)
	types := make([]mapping.LogicalType, cc)
	for i := range cc {
		names[i] = mapping.ColumnName(&r.res, i)
		types[i] = mapping.ColumnLogicalType(&r.res, i)
	}
	var err error
	if r.schema, err = arrowSchema(r.opts, types, names); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// runTasks runs the pending query's tasks on this goroutine until its
// result is ready, giving progress DuckDB's estimate about every 100 ms.
func (s *Stmt) runTasks(ctx context.Context, pending mapping.PendingResult, progress func(percent float64)) error {
	last := time.Now()
	for {
		st := mapping.PendingExecuteTask(pending)
		if time.Since(last) > 100*time.Millisecond {
			last = time.Now()
			progress(s.c.Progress())
		}
		if st == mapping.PendingStateError {
			if ctx.Err() != nil {
				return CtxErr(ctx)
			}
			return newError(mapping.PendingError(pending), s.text)
		}
		if st == mapping.PendingStateResultReady {
			return nil
		}
		if ctx.Err() != nil {
			return CtxErr(ctx)
		}
	}
}

// Rename gives the result's columns other names (as many as it has; the
// types stay). Batches fetched after it carry them.
func (r *Result) Rename(names []string) {
	if len(names) != r.schema.NumFields() {
		return
	}
	fields := r.schema.Fields()
	for i := range fields {
		fields[i].Name = names[i]
	}
	md := r.schema.Metadata()
	r.schema = arrow.NewSchema(fields, &md)
}

// Result is a streaming result: one DuckDB chunk at a time.
type Result struct {
	c      *Conn
	res    mapping.Result
	opts   mapping.ArrowOptions
	schema *arrow.Schema
	done   bool
}

// Schema is the result's Arrow schema.
func (r *Result) Schema() *arrow.Schema { return r.schema }

// Fetch converts DuckDB's next chunk; nil at the end. After an error or the
// end, Fetch returns nil again. An interrupted result (ctx ended) is an
// error, never a short result.
func (r *Result) Fetch(ctx context.Context) (arrow.RecordBatch, error) {
	if r.done {
		return nil, nil
	}
	chunk := mapping.FetchChunk(r.res)
	if chunk.Ptr == nil {
		r.done = true
		switch msg := mapping.ResultError(&r.res); {
		case ctx.Err() != nil:
			// Interrupted: DuckDB may end the result without an error
			// message, which must not read as a complete result.
			return nil, CtxErr(ctx)
		case msg != "":
			return nil, newError(msg, "")
		}
		return nil, nil
	}
	defer mapping.DestroyDataChunk(&chunk)
	rec, ed := mapping.DataChunkToArrowArray(r.opts, r.schema, chunk)
	if err := errorData(ed); err != nil {
		r.done = true
		return nil, err
	}
	return rec, nil
}

// Done reports whether the result was read to its end (or failed).
func (r *Result) Done() bool { return r.done }

// Close destroys the result; a query still producing rows is interrupted
// first.
func (r *Result) Close() {
	if !r.done {
		r.c.Interrupt()
	}
	mapping.DestroyArrowOptions(&r.opts)
	mapping.DestroyResult(&r.res)
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

// Reader is a query of qry's own as an array.RecordReader (see Conn.Query).
type Reader struct {
	ctx  context.Context
	s    *Stmt
	res  *Result
	stop func()
	cur  arrow.RecordBatch
	err  error
	refs int
}

var _ array.RecordReader = (*Reader)(nil)

// Schema implements array.RecordReader.
func (r *Reader) Schema() *arrow.Schema { return r.res.Schema() }

// Next implements array.RecordReader.
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	r.cur, r.err = r.res.Fetch(r.ctx)
	return r.cur != nil
}

// RecordBatch implements array.RecordReader.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record implements array.RecordReader.
//
// Deprecated: use RecordBatch.
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err implements array.RecordReader.
func (r *Reader) Err() error { return r.err }

// Retain implements array.RecordReader.
func (r *Reader) Retain() { r.refs++ }

// Release implements array.RecordReader.
func (r *Reader) Release() {
	if r.refs--; r.refs <= 0 {
		r.Close()
	}
}

// Close ends the query and frees it.
func (r *Reader) Close() {
	if r.s == nil {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.res.Close()
	r.s.Close()
	r.stop()
	r.s = nil
}

// Collect reads every batch of rr, retained (the caller releases them).
func Collect(rr array.RecordReader) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	for rr.Next() {
		b := rr.RecordBatch()
		b.Retain()
		out = append(out, b)
	}
	if err := rr.Err(); err != nil {
		Release(out)
		return nil, err
	}
	return out, nil
}

// Release releases batches.
func Release(batches []arrow.RecordBatch) {
	for _, b := range batches {
		b.Release()
	}
}
