//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	mapping "github.com/duckdb/duckdb-go-bindings"

	"github.com/qry-dev/qry/sql"
)

// insertRE takes an INSERT apart: target, optional column list, and the
// source (VALUES, SELECT, WITH, FROM, or a parenthesized query), with an
// optional BY NAME / BY POSITION.
var insertRE = regexp.MustCompile(`(?is)^\s*insert\s+into\s+((?:(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*\.\s*){0,2}(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*))\s*(\([^()]*\))?\s*((?:by\s+(?:name|position)\s+)?)(.*?)\s*;?\s*$`)

// IsInsert reports whether text is an INSERT statement.
func IsInsert(text string) bool { return insertRE.MatchString(text) }

type insertStmt struct {
	lt      *liveTable
	columns string // "(a, b)" or ""
	by      string
	source  string
}

// parseInsert finds the writable table an INSERT writes to, and checks its
// source with the same gate as queries.
func (e *Engine) parseInsert(ctx context.Context, text string) (*insertStmt, error) {
	m := insertRE.FindStringSubmatch(text)
	if m == nil {
		return nil, fmt.Errorf("%w: only INSERT INTO a writable table writes", ErrForbidden)
	}
	parts := splitIdent(m[1])
	name := parts[len(parts)-1]
	if len(parts) == 3 && !strings.EqualFold(parts[0], CatalogName) || len(parts) >= 2 && !strings.EqualFold(parts[len(parts)-2], SchemaName) {
		return nil, fmt.Errorf("%s: %w", m[1], ErrNotWritable)
	}
	lt, ok := e.live[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNotWritable)
	}
	st := &insertStmt{lt: lt, columns: m[2], by: m[3], source: m[4]}
	if strings.TrimSpace(st.source) == "" {
		return nil, fmt.Errorf("%w: INSERT INTO %s needs VALUES or a query", ErrWrite, name)
	}
	if e.opts.Sandbox {
		parsed, err := e.parser.Parse(ctx, st.source)
		if err != nil {
			return nil, fmt.Errorf("%w: the source of an INSERT must be VALUES or a query: %w", ErrForbidden, err)
		}
		snap := e.cat.Snapshot()
		if err := sql.CheckSources(parsed, func(n string) bool {
			t, ok := snap.Table(n)
			return ok && e.hasView(t.Name)
		}); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// splitIdent splits a.b."c" into its unquoted parts.
func splitIdent(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' && inQuote && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"':
			inQuote = !inQuote
		case ch == '.' && !inQuote:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		case !inQuote && (ch == ' ' || ch == '\t' || ch == '\n'):
		default:
			cur.WriteByte(ch)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
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
	defer func() { e.reportWrite(ctx, text, start, n, err) }()
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
	if err := st.stage(c); err != nil {
		return 0, err
	}
	defer func() { _ = exec(c, "DROP TABLE IF EXISTS temp."+stageTable) }()
	stmt, err := prepare(c, st.stagedSQL())
	if err != nil {
		return 0, renameStage(err, st.lt.name)
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
			return 0, renameStage(newQueryError(msg), st.lt.name)
		}
	}
	batches, err := e.readAll(ctx, c, "SELECT * FROM temp."+stageTable)
	if err != nil {
		return 0, err
	}
	defer release(batches)
	return e.Append(ctx, st.lt.name, batches)
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
	if err := r.start(query, nil); err != nil {
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
	stmt, err := prepare(c, st.stagedSQL())
	if err != nil {
		return nil, renameStage(err, st.lt.name)
	}
	defer mapping.DestroyPrepare(&stmt)
	params, err := paramSchema(c, stmt)
	if err != nil {
		return nil, err
	}
	return &Statement{Schema: arrow.NewSchema(nil, nil), Params: params, Update: true}, nil
}
