//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	mapping "github.com/duckdb/duckdb-go-bindings"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/sql"
)

// IsInsert reports whether text is an INSERT statement of the shape qry
// writes (see sql.ParseInsert).
func IsInsert(text string) bool {
	_, ok := sql.ParseInsert(text)
	return ok
}

// insertsIntoLive reports whether text is an INSERT into a writable
// table (other INSERTs, into a session's own tables outside the sandbox,
// are DuckDB's).
func (e *Engine) insertsIntoLive(text string) bool {
	if len(e.live) == 0 {
		return false
	}
	ins, ok := sql.ParseInsert(text)
	if !ok {
		return false
	}
	_, ok = e.live[strings.ToLower(ins.Target[len(ins.Target)-1])]
	return ok
}

type insertStmt struct {
	lt      *liveTable
	columns string // "(a, b)" or ""
	names   []string
	by      string
	source  string
}

// parseInsert finds the writable table an INSERT writes to, and checks its
// source with the same gate as queries.
func (e *Engine) parseInsert(ctx context.Context, text string) (*insertStmt, error) {
	ins, ok := sql.ParseInsert(text)
	if !ok {
		return nil, fmt.Errorf("%w: only INSERT INTO a writable table writes", ErrForbidden)
	}
	parts := ins.Target
	name := parts[len(parts)-1]
	if len(parts) == 3 && !strings.EqualFold(parts[0], CatalogName) || len(parts) >= 2 && !strings.EqualFold(parts[len(parts)-2], SchemaName) {
		return nil, fmt.Errorf("%s: %w", ins.TargetText, ErrNotWritable)
	}
	lt, ok := e.live[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNotWritable)
	}
	// The staged INSERT is rebuilt from what the lexer read (names
	// quoted, BY in capitals, comments gone): only the source, which the
	// gate analysed, is the client's text.
	st := &insertStmt{lt: lt, names: ins.ColumnNames, source: ins.Source}
	if ins.Columns != "" {
		quoted := make([]string, len(ins.ColumnNames))
		for i, n := range ins.ColumnNames {
			quoted[i] = QuoteIdent(n)
		}
		st.columns = "(" + strings.Join(quoted, ", ") + ")"
	}
	if ins.By != "" {
		st.by = strings.ToUpper(sql.Canonical(ins.By)) + " "
	}
	if st.source == "" {
		return nil, fmt.Errorf("%w: INSERT INTO %s needs VALUES or a query", ErrWrite, name)
	}
	if e.opts.Sandbox {
		if err := e.checkSources(ctx, st.source); err != nil {
			return nil, fmt.Errorf("the source of an INSERT: %w", err)
		}
	}
	return st, nil
}

const stageTable = "_qry_stage"

// stage makes a temporary table shaped like the writable table on c.
func (st *insertStmt) stage(c *conn) error {
	cols := make([]string, len(st.lt.decl.Columns))
	for i, col := range st.lt.decl.Columns {
		cols[i] = QuoteIdent(col.Name) + " " + col.Type
		if col.NotNull {
			cols[i] += " NOT NULL"
		}
	}
	return exec(c, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s (%s)", stageTable, strings.Join(cols, ", ")))
}

func (st *insertStmt) stagedSQL() string {
	return fmt.Sprintf("INSERT INTO %s %s %s%s", stageTable, st.columns, st.by, st.source)
}

// Exec runs an INSERT into a writable table once per parameter set (no
// set: once without parameters) and writes all the rows as one write: all
// of them, or none. It returns the number of rows written.
func (e *Engine) Exec(ctx context.Context, text string, paramSets ...[]any) (n int64, err error) {
	start := time.Now()
	defer func() {
		err = e.clean(err)
		e.reportWrite(ctx, text, start, n, err)
	}()
	st, err := e.parseInsert(ctx, text)
	if err != nil {
		return 0, err
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer e.release(c)
	defer interruptOnDone(ctx, c)()
	// The source may read archive files: a compaction keeps them meanwhile.
	e.tickMu.RLock()
	epoch := e.readers.enter()
	e.tickMu.RUnlock()
	defer e.readers.leave(epoch)
	if err := st.stage(c); err != nil {
		return 0, err
	}
	defer func() { _ = exec(c, "DROP TABLE IF EXISTS temp."+stageTable) }()
	staged := st.stagedSQL()
	stmt, err := prepare(c, staged)
	if err != nil {
		return 0, renameStage(place(err, staged, text), st.lt.name)
	}
	defer mapping.DestroyPrepare(&stmt)
	if mapping.PreparedStatementType(stmt) != mapping.StatementTypeInsert {
		return 0, fmt.Errorf("%w: only INSERT INTO a writable table writes", ErrForbidden)
	}
	if len(paramSets) == 0 {
		paramSets = [][]any{nil}
	}
	for _, args := range paramSets {
		mapping.ClearBindings(stmt)
		if err := bind(stmt, args); err != nil {
			return 0, err
		}
		var res mapping.Result
		state := mapping.ExecutePrepared(stmt, &res)
		msg := mapping.ResultError(&res)
		mapping.DestroyResult(&res)
		if state == mapping.StateError {
			if ctx.Err() != nil {
				return 0, ctxErr(ctx)
			}
			return 0, renameStage(place(newQueryError(msg, staged), staged, text), st.lt.name)
		}
	}
	batches, err := e.readAll(ctx, c, "SELECT * FROM temp."+stageTable)
	if err != nil {
		return 0, err
	}
	defer release(batches)
	return e.Append(ctx, st.lt.name, batches)
}

// valuesParams reports whether a source is one row of bare parameters:
// VALUES (?, ?, ?).
func valuesParams(source string) bool {
	toks := sql.Code(source)
	if len(toks) < 4 || !toks[0].IsWord(source, "values") || !toks[1].Is(source, "(") || !toks[len(toks)-1].Is(source, ")") {
		return false
	}
	for i, t := range toks[2 : len(toks)-1] {
		if i%2 == 0 && !(t.Kind == sql.Param && source[t.Start:t.End] == "?") || i%2 == 1 && !t.Is(source, ",") {
			return false
		}
	}
	return len(toks)%2 == 0
}

// AppendParams runs a prepared INSERT ... VALUES (?, ...) over batches of
// parameter rows as one Append, with no statement per row: the batches'
// columns become the target columns. ok is false when the statement is of
// another shape (or its parameters do not fit the columns as they are), and
// the caller must bind the rows one by one with Exec.
func (e *Engine) AppendParams(ctx context.Context, text string, batches []arrow.RecordBatch) (n int64, ok bool, err error) {
	st, err := e.parseInsert(ctx, text)
	if err != nil {
		return 0, true, err
	}
	if st.by != "" || !valuesParams(st.source) || len(batches) == 0 {
		return 0, false, nil
	}
	var targets []string
	if st.columns != "" {
		targets = st.names
	} else {
		for _, c := range st.lt.decl.Columns {
			targets = append(targets, c.Name)
		}
	}
	schema := batches[0].Schema()
	if schema.NumFields() != len(targets) {
		return 0, false, nil
	}
	fields := make([]arrow.Field, len(targets))
	for i, f := range schema.Fields() {
		col, found := st.lt.column(targets[i])
		if !found || !compatible(f.Type, col.Type) {
			return 0, false, nil
		}
		fields[i] = arrow.Field{Name: col.Name, Type: f.Type, Nullable: true}
	}
	named := arrow.NewSchema(fields, nil)
	renamed := make([]arrow.RecordBatch, 0, len(batches))
	defer func() { release(renamed) }()
	for _, b := range batches {
		if !b.Schema().Equal(schema) {
			return 0, false, nil
		}
		renamed = append(renamed, array.NewRecordBatch(named, b.Columns(), b.NumRows()))
	}
	start := time.Now()
	n, err = e.Append(ctx, st.lt.name, renamed)
	e.reportWrite(ctx, text, start, n, err)
	return n, true, err
}

// column finds a declared column by name, ignoring case.
func (lt *liveTable) column(name string) (catalog.WritableColumn, bool) {
	for _, c := range lt.decl.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return catalog.WritableColumn{}, false
}

// renameStage makes DuckDB's messages about the staging table name the
// writable table.
func renameStage(err error, table string) error {
	var qe *QueryError
	if errors.As(err, &qe) {
		cp := *qe
		cp.Msg = strings.ReplaceAll(strings.ReplaceAll(cp.Msg, "temp."+stageTable, table), stageTable, table)
		return &cp
	}
	return err
}

// readAll runs a query of qry's own on c and returns its batches.
func (e *Engine) readAll(ctx context.Context, c *conn, query string) ([]arrow.RecordBatch, error) {
	r := &Rows{e: e, c: c, ctx: ctx, refs: 1, plan: &Plan{SQL: query}, sql: query, began: time.Now(), internal: true, borrowed: true}
	r.stop = func() {}
	defer r.close()
	if err := r.start(query, nil, 0); err != nil {
		return nil, err
	}
	return collect(r)
}

// describeInsert reports an INSERT's parameters (its result has no rows).
func (e *Engine) describeInsert(ctx context.Context, text string) (*Statement, error) {
	st, err := e.parseInsert(ctx, text)
	if err != nil {
		return nil, err
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(c)
	if err := st.stage(c); err != nil {
		return nil, err
	}
	defer func() { _ = exec(c, "DROP TABLE IF EXISTS temp."+stageTable) }()
	staged := st.stagedSQL()
	stmt, err := prepare(c, staged)
	if err != nil {
		return nil, renameStage(place(err, staged, text), st.lt.name)
	}
	defer mapping.DestroyPrepare(&stmt)
	params, err := paramSchema(c, stmt)
	if err != nil {
		return nil, err
	}
	return &Statement{Schema: arrow.NewSchema(nil, nil), Params: params, Update: true}, nil
}
