//go:build duckdb_arrow

package engine

import (
	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/live"

	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/fault"
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
//
// A read-only engine sends it every INSERT: into a table that is not
// writable, the answer is ErrNotWritable, as Exec's.
func (e *Engine) insertsIntoLive(text string) bool {
	ins, ok := sql.ParseInsert(text)
	if !ok {
		return false
	}
	if e.opts.Sandbox || e.opts.ReadOnly {
		return true
	}
	return e.live.Has(ins.Target[len(ins.Target)-1])
}

type insertStmt struct {
	table   string            // the writable table, as declared
	decl    *catalog.Writable // its declaration
	columns string            // "(a, b)" or ""
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
	table, decl, ok := e.live.Decl(name)
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNotWritable)
	}
	// The staged INSERT is rebuilt from what the lexer read (names
	// quoted, BY in capitals, comments gone): only the source, which the
	// gate analysed, is the client's text.
	st := &insertStmt{table: table, decl: decl, names: ins.ColumnNames, source: ins.Source}
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
func (st *insertStmt) stage(c *duck.Conn) error {
	cols := make([]string, len(st.decl.Columns))
	for i, col := range st.decl.Columns {
		cols[i] = QuoteIdent(col.Name) + " " + col.Type
		if col.NotNull {
			cols[i] += " NOT NULL"
		}
	}
	return c.Exec(fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s (%s)", stageTable, strings.Join(cols, ", ")))
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
	defer c.InterruptOnDone(ctx)()
	// The source may read archive files: a compaction keeps them meanwhile.
	read := e.live.BeginRead()
	read.Started()
	defer read.Done()
	if err := st.stage(c); err != nil {
		return 0, err
	}
	defer func() { _ = c.Exec("DROP TABLE IF EXISTS temp." + stageTable) }()
	staged := st.stagedSQL()
	stmt, err := c.Prepare(staged)
	if err != nil {
		return 0, badWrite(renameStage(place(err, staged, text), st.table))
	}
	defer stmt.Close()
	if stmt.Kind() != duck.Insert {
		return 0, fmt.Errorf("%w: only INSERT INTO a writable table writes", ErrForbidden)
	}
	if len(paramSets) == 0 {
		paramSets = [][]any{nil}
	}
	for _, args := range paramSets {
		if err := stmt.Exec(args); err != nil {
			if ctx.Err() != nil {
				return 0, duck.CtxErr(ctx)
			}
			return 0, badWrite(renameStage(place(err, staged, text), st.table))
		}
	}
	batches, err := c.ReadAll(ctx, "SELECT * FROM temp."+stageTable)
	if err != nil {
		return 0, err
	}
	defer duck.Release(batches)
	return e.live.Append(ctx, st.table, batches)
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
	if st.by != "" || !sql.IsValuesParams(st.source) || len(batches) == 0 {
		return 0, false, nil
	}
	var targets []string
	if st.columns != "" {
		targets = st.names
	} else {
		for _, c := range st.decl.Columns {
			targets = append(targets, c.Name)
		}
	}
	schema := batches[0].Schema()
	if schema.NumFields() != len(targets) {
		return 0, false, nil
	}
	fields := make([]arrow.Field, len(targets))
	for i, f := range schema.Fields() {
		col, found := st.decl.Column(targets[i])
		if !found || !live.Compatible(f.Type, col.Type) {
			return 0, false, nil
		}
		fields[i] = arrow.Field{Name: col.Name, Type: f.Type, Nullable: true}
	}
	named := arrow.NewSchema(fields, nil)
	renamed := make([]arrow.RecordBatch, 0, len(batches))
	defer func() { duck.Release(renamed) }()
	for _, b := range batches {
		if !b.Schema().Equal(schema) {
			return 0, false, nil
		}
		renamed = append(renamed, array.NewRecordBatch(named, b.Columns(), b.NumRows()))
	}
	start := time.Now()
	n, err = e.live.Append(ctx, st.table, renamed)
	e.reportWrite(ctx, text, start, n, err)
	return n, true, err
}

// badWrite makes DuckDB's refusal of a value that does not fit the table
// (a NOT NULL, a conversion) a bad write, as Append's.
func badWrite(err error) error {
	if fault.KindOf(err) == fault.Invalid {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return err
}

// renameStage makes DuckDB's messages about the staging table name the
// writable table.
func renameStage(err error, table string) error {
	var qe *fault.Error
	if errors.As(err, &qe) {
		cp := *qe
		cp.Msg = strings.ReplaceAll(strings.ReplaceAll(cp.Msg, "temp."+stageTable, table), stageTable, table)
		return &cp
	}
	return err
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
	defer func() { _ = c.Exec("DROP TABLE IF EXISTS temp." + stageTable) }()
	staged := st.stagedSQL()
	stmt, err := c.Prepare(staged)
	if err != nil {
		return nil, renameStage(place(err, staged, text), st.table)
	}
	defer stmt.Close()
	return &Statement{Schema: arrow.NewSchema(nil, nil), Params: stmt.Params(), Update: true}, nil
}
