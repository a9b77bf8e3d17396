//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	mapping "github.com/duckdb/duckdb-go-bindings"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/sql"
)

// Plan is what the planner did to a statement before DuckDB ran it.
type Plan struct {
	// SQL is the text DuckDB runs.
	SQL string
	// Tables has one entry per reference to a catalog table.
	Tables []TablePlan
	// FromStats is true when the answer came from statistics alone.
	FromStats bool
	// Cached is true when the answer came from the result cache.
	Cached bool
	// Explain is the statement's EXPLAIN prefix ("EXPLAIN ANALYZE "), or
	// "": DuckDB runs Explain+SQL.
	Explain string
	parsed  bool           // a SELECT the parser read
	stmt    *sql.Statement // what the parser read, when parsed
}

// TablePlan is one table reference's pruning.
type TablePlan struct {
	Table   string
	Name    string
	Files   int // files in the table
	Kept    int // files read
	Pushed  string
	Skipped string // why the reference was not pruned, if it was not
}

// String renders the plan for EXPLAIN.
func (p *Plan) String() string {
	var b strings.Builder
	if len(p.Tables) == 0 {
		b.WriteString("no catalog table pruned\n")
	}
	for _, t := range p.Tables {
		name := t.Table
		if !strings.EqualFold(t.Name, t.Table) {
			name += " AS " + t.Name
		}
		fmt.Fprintf(&b, "%s: %d files, %d read, %d pruned", name, t.Files, t.Kept, t.Files-t.Kept)
		if t.Pushed != "" {
			fmt.Fprintf(&b, "; predicate: %s", t.Pushed)
		}
		if t.Skipped != "" {
			fmt.Fprintf(&b, " (%s)", t.Skipped)
		}
		b.WriteByte('\n')
	}
	if p.FromStats {
		b.WriteString("answered from file statistics: no file opened\n")
	}
	if p.Cached {
		b.WriteString("answered from the result cache\n")
	}
	return b.String()
}

// plan prunes the catalog tables a statement reads. text is the whole
// statement: an EXPLAIN prefix is kept aside (Plan.Explain) and the
// statement it explains is planned. In a sandbox the statement must be one
// the gate can analyse whole (sql.CheckSources) or it is refused; outside,
// statements the parser does not serialize (anything but SELECT) pass
// through unchanged and DuckDB reports its own errors.
//
// c, if not nil, is the connection the caller holds (planning may need to
// describe a statement); with nil, planning takes one of its own.
func (e *Engine) plan(ctx context.Context, text string, c *conn) (*Plan, error) {
	explain, inner, err := sql.SplitExplain(text)
	if err != nil {
		if e.opts.Sandbox {
			return nil, fmt.Errorf("%w: %w", ErrForbidden, err)
		}
		return &Plan{SQL: text}, nil
	}
	p := &Plan{SQL: inner}
	if explain != "" {
		// DuckDB runs the prefix as qry read it, comments left out.
		p.Explain = sql.Canonical(explain) + " "
	}
	st, err := e.parser.Parse(ctx, inner)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxErr(ctx) // a timeout, not a refusal
		}
		if e.opts.Sandbox {
			return nil, refusal(text, len(explain), err)
		}
		if errors.Is(err, sql.ErrNotSelect) || errors.Is(err, sql.ErrParse) {
			return p, nil // DuckDB reports its own errors, with positions
		}
		return nil, err
	}
	text = inner // what follows works on the statement explained
	p.parsed, p.stmt = true, st
	snap := e.cat.Snapshot()
	if e.opts.Sandbox {
		if err := sql.CheckSources(st, e.isTable(snap)); err != nil {
			return nil, err
		}
	}
	a := sql.Analyze(st, func(name string) ([]string, bool) {
		t, ok := snap.Table(name)
		if !ok || !e.hasView(t.Name) {
			return nil, false
		}
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = c.Name
		}
		return cols, true
	})
	var edits []sql.Edit
	kepts := make([][]*catalog.File, len(a.Refs))
	for i, r := range a.Refs {
		t, _ := snap.Table(r.Table)
		tp := TablePlan{Table: t.Name, Name: r.Name, Files: len(t.Files), Kept: len(t.Files), Pushed: describePred(r.Pred, i)}
		switch {
		case r.Start < 0:
			tp.Skipped = "reference not rewritable"
		case nulColumn(t):
			tp.Skipped = "a column name with a NUL byte cannot be written in a rewrite"
		case r.Pred == nil:
		default:
			kept := prune(t, r.Pred, i, r.NullSupplying)
			kepts[i] = kept
			tp.Kept = len(kept)
			if len(kept) < len(t.Files) {
				scan, err := e.tableExpr(t, kept)
				if err != nil {
					return nil, err
				}
				edits = append(edits, sql.Edit{Start: r.Start, End: r.End, Text: scan + " AS " + QuoteIdent(r.Name)})
			}
		}
		p.Tables = append(p.Tables, tp)
	}
	if len(a.Aggs) > 0 && !e.hasLive(a.Refs[0].Table) {
		t, _ := snap.Table(a.Refs[0].Table)
		kept := kepts[0]
		if kept == nil {
			kept = t.Files
		}
		if q, ok := e.fromStats(ctx, c, text, t, a, kept); ok {
			p.SQL, p.FromStats = q, true
			return p, nil
		}
	}
	p.SQL = sql.Rewrite(text, edits)
	return p, nil
}

// describePred renders the leaves of p that apply to reference ref.
func describePred(p *sql.Pred, ref int) string {
	if p == nil {
		return ""
	}
	switch p.Kind {
	case sql.Leaf:
		if p.Ref != ref {
			return ""
		}
		var vals []string
		for _, v := range p.Values {
			if v.Kind == sql.Number {
				vals = append(vals, v.Text)
			} else {
				vals = append(vals, "'"+strings.ReplaceAll(v.Text, "'", "''")+"'")
			}
		}
		switch p.Op {
		case sql.OpIsNull, sql.OpIsNotNull:
			return p.Column + " " + string(p.Op)
		case sql.OpIn:
			return p.Column + " IN (" + strings.Join(vals, ", ") + ")"
		case sql.OpBetween:
			return p.Column + " BETWEEN " + vals[0] + " AND " + vals[1]
		case sql.OpPrefix:
			return p.Column + " LIKE " + strings.TrimSuffix(vals[0], "'") + "%'"
		}
		return p.Column + " " + string(p.Op) + " " + vals[0]
	case sql.And, sql.Or:
		var parts []string
		for _, c := range p.Children {
			s := describePred(c, ref)
			if s == "" {
				if p.Kind == sql.Or {
					return "" // an OR with an unknown branch constrains nothing
				}
				continue
			}
			parts = append(parts, s)
		}
		if len(parts) == 0 {
			return ""
		}
		if len(parts) == 1 {
			return parts[0]
		}
		sep := " AND "
		if p.Kind == sql.Or {
			return "(" + strings.Join(parts, " OR ") + ")"
		}
		return strings.Join(parts, sep)
	}
	return ""
}

// fromStats answers SELECT count(*)/min/max FROM t [WHERE partition
// predicates] from statistics, when every kept file certainly satisfies the
// WHERE clause and every aggregate is exact in the statistics.
func (e *Engine) fromStats(ctx context.Context, c *conn, text string, t *catalog.Table, a *sql.Analysis, kept []*catalog.File) (string, bool) {
	p := a.Refs[0].Pred
	for _, f := range kept {
		if f.Inexact || !certain(t, f, p) {
			return "", false // an Inexact file's statistics answer nothing
		}
	}
	vals := make([]*string, len(a.Aggs)) // nil: NULL
	types := make([]string, len(a.Aggs))
	for i, agg := range a.Aggs {
		if agg.Func == "count_star" {
			var n int64
			for _, f := range kept {
				n += f.Rows
			}
			v := fmt.Sprint(n)
			vals[i], types[i] = &v, "BIGINT"
			continue
		}
		col, ok := t.Column(agg.Column)
		if !ok {
			return "", false
		}
		v, ok := extreme(t, col, kept, agg.Func == "max")
		if !ok || v != nil && strings.ContainsRune(*v, 0) {
			return "", false // a NUL byte cannot travel in SQL text
		}
		vals[i], types[i] = v, col.Type
	}
	// The result's column names are DuckDB's own: describe the statement
	// over an empty relation of the table's schema, which binds at once.
	r := a.Refs[0]
	empty, err := t.Scan([]*catalog.File{}, nil)
	if err != nil {
		return "", false
	}
	probe := sql.Rewrite(text, []sql.Edit{{Start: r.Start, End: r.End, Text: empty + " AS " + QuoteIdent(r.Name)}})
	var info *Statement
	if c != nil {
		info, err = e.describeOn(ctx, c, probe, mapping.StatementTypeSelect)
	} else {
		info, err = e.Describe(ctx, probe)
	}
	if err != nil || info.Schema.NumFields() != len(vals) {
		return "", false
	}
	sel := make([]string, len(vals))
	for i, v := range vals {
		lit := "NULL"
		if v != nil {
			lit = "'" + strings.ReplaceAll(*v, "'", "''") + "'"
		}
		sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", lit, types[i], QuoteIdent(info.Schema.Field(i).Name))
	}
	return "SELECT " + strings.Join(sel, ", "), true
}

// certain reports whether every row of f satisfies p, judging by partition
// values alone.
func certain(t *catalog.Table, f *catalog.File, p *sql.Pred) bool {
	if p == nil {
		return true
	}
	switch p.Kind {
	case sql.And:
		for _, c := range p.Children {
			if !certain(t, f, c) {
				return false
			}
		}
		return true
	case sql.Or:
		for _, c := range p.Children {
			if certain(t, f, c) {
				return true
			}
		}
		return false
	case sql.Leaf:
		col, ok := t.Column(p.Column)
		if !ok || !col.Partition {
			return false
		}
		v, has := f.Partition[col.Name]
		if !has {
			return false
		}
		switch p.Op {
		case sql.OpIsNull:
			return v == ""
		case sql.OpIsNotNull:
			return v != ""
		case sql.OpPrefix, sql.OpExtent:
			return false
		}
		if v == "" {
			return false
		}
		// A single value satisfies a leaf exactly when its range [v, v] may.
		return inRange(col.Type, v, v, p, true, true)
	}
	return false
}

// extreme is the min (or max) of a column over files, exact from statistics;
// nil stands for NULL (no non-NULL value).
func extreme(t *catalog.Table, col catalog.Column, files []*catalog.File, isMax bool) (*string, bool) {
	if !exactStats(t, col) {
		return nil, false
	}
	best, found := "", false
	for _, f := range files {
		var v string
		if col.Partition {
			v = f.Partition[col.Name]
			if v == "" || f.Rows == 0 {
				continue
			}
		} else {
			if f.Rows == 0 || f.FileType(col.Name) == "" {
				continue
			}
			st, ok := f.Stats[col.Name]
			if !ok || st.NullCount < 0 {
				return nil, false
			}
			if st.NullCount == f.Rows {
				continue
			}
			if !st.HasMinMax || f.FileType(col.Name) != col.Type {
				return nil, false
			}
			v = st.Min
			if isMax {
				v = st.Max
			}
		}
		c, ok := catalog.Compare(col.Type, v, best)
		if found && !ok {
			return nil, false
		}
		if !found || (isMax && c > 0) || (!isMax && c < 0) {
			best, found = v, true
		}
	}
	if !found {
		return nil, true
	}
	return &best, true
}

// exactStats reports whether a column's min/max statistics are exact values:
// Parquet may truncate strings and leave NaN out of floats.
func exactStats(t *catalog.Table, col catalog.Column) bool {
	if col.Partition {
		return true
	}
	switch {
	case col.Type == "VARCHAR" || col.Type == "DOUBLE" || col.Type == "FLOAT":
		return t.Format != "parquet"
	case isNumericType(col.Type), col.Type == "DATE", strings.HasPrefix(col.Type, "TIMESTAMP") && !strings.Contains(col.Type, "ZONE"):
		return true
	}
	return false
}

// isTable tells the gate which names are catalog tables a query can read.
func (e *Engine) isTable(snap *catalog.Snapshot) func(string) bool {
	return func(name string) bool {
		t, ok := snap.Table(name)
		return ok && e.hasView(t.Name) || e.isRejects(name)
	}
}

// checkSources is the sandbox's gate for a statement that is not planned
// (an INSERT's source): it must parse as one SELECT that reads only what
// a query may read.
func (e *Engine) checkSources(ctx context.Context, text string) error {
	st, err := e.parser.Parse(ctx, text)
	if err != nil {
		return refusal(text, 0, err)
	}
	return sql.CheckSources(st, e.isTable(e.cat.Snapshot()))
}

// refusal is the sandbox's answer to a statement its parser did not take:
// a syntax error with its position in text (the parsed part starts at
// base), or a refusal that says why.
func refusal(text string, base int, err error) error {
	var se *sql.SyntaxError
	switch {
	case errors.As(err, &se):
		qe := &QueryError{Kind: KindSyntax, Msg: se.Error()}
		if se.Offset >= 0 {
			qe.Line, qe.Col = sql.LineCol(text, base+se.Offset)
		}
		return qe
	case errors.Is(err, sql.ErrMultipleStatements), errors.Is(err, sql.ErrEmpty):
		return err
	case errors.Is(err, sql.ErrNotSelect):
		return fmt.Errorf("%w: only SELECT, EXPLAIN, DESCRIBE and SHOW are accepted", ErrForbidden)
	}
	return fmt.Errorf("%w: the statement cannot be analysed: %w", ErrForbidden, err)
}

// nulColumn reports whether a table has a column whose name SQL text
// cannot carry (DuckDB reads the text as a C string).
func nulColumn(t *catalog.Table) bool {
	for _, c := range t.Columns {
		if strings.ContainsRune(c.Name, 0) {
			return true
		}
	}
	return false
}
