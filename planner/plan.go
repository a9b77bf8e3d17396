package planner

import (
	"fmt"
	"strings"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
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
	// Stmt is what the parser read: a SELECT (nil when the statement was
	// not parsed, outside a sandbox).
	Stmt *sql.Statement
	// Rewritten is true when SQL differs from the statement as written (a
	// reference became a scan of its kept files).
	Rewritten bool
	// Part is true when the statement reads one part of a Split (Env.Only).
	Part bool
	// Split, set for an EXPLAIN, says how the statement's result would be
	// read in parts.
	Split *Split
	// Stats, when set, can answer the statement from statistics once the
	// engine knows its result's column names (see StatsAnswer).
	Stats *StatsAnswer
}

// TablePlan is one table reference's pruning.
type TablePlan struct {
	Table   string // the catalog table
	Alias   string // the name the statement reads it by (the table's, or AS ...)
	Files   int    // files in the table
	Kept    int    // files read
	Pushed  string
	Skipped string // why the reference was not pruned, if it was not
	Copy    string // how an accelerated table's copy serves it ("": not at all)
}

// String renders the plan for EXPLAIN.
func (p *Plan) String() string {
	var b strings.Builder
	if len(p.Tables) == 0 {
		b.WriteString("no catalog table pruned\n")
	}
	for _, t := range p.Tables {
		name := t.Table
		if !strings.EqualFold(t.Alias, t.Table) {
			name += " AS " + t.Alias
		}
		fmt.Fprintf(&b, "%s: %d files, %d read, %d pruned", name, t.Files, t.Kept, t.Files-t.Kept)
		if t.Pushed != "" {
			fmt.Fprintf(&b, "; predicate: %s", t.Pushed)
		}
		if t.Skipped != "" {
			fmt.Fprintf(&b, " (%s)", t.Skipped)
		}
		if t.Copy != "" {
			fmt.Fprintf(&b, "; %s", t.Copy)
		}
		b.WriteByte('\n')
	}
	if p.FromStats {
		b.WriteString("answered from file statistics: no file opened\n")
	}
	if p.Cached {
		b.WriteString("answered from the result cache\n")
	}
	if p.Split != nil {
		b.WriteString(p.Split.String())
	}
	return b.String()
}

// Env is what the planner needs to know beside the statement. It holds no
// connection: planning is pure.
type Env struct {
	// Snapshot is the catalog the statement is planned against.
	Snapshot *catalog.Snapshot
	// Queryable reports whether a catalog table can be read (the engine
	// made it a view); references to others are left alone.
	Queryable func(table string) bool
	// Scan is a table expression reading the given files of t (and, for a
	// writable table, its live rows).
	Scan func(t *catalog.Table, files []*catalog.File) (string, error)
	// Live reports whether a table has rows beyond its files' statistics
	// (a writable table's live tier): no statistics answer for it.
	Live func(table string) bool
	// Only restricts tables, by lower-cased name, to some of their files:
	// one part of a Split. A reference to such a table always becomes a
	// scan of those files (pruned further by its predicates).
	Only map[string][]*catalog.File
}

// New plans a parsed SELECT: each reference to a catalog table whose
// predicates prune files becomes a scan of the kept files (a rewrite at the
// reference's span in text), and an aggregate that statistics can answer
// gets a StatsAnswer. explain is the statement's EXPLAIN prefix, kept in
// Plan.Explain.
func New(text, explain string, st *sql.Statement, env Env) (*Plan, error) {
	p := &Plan{SQL: text, Explain: explain, Stmt: st, Part: env.Only != nil}
	snap := env.Snapshot
	a := sql.Analyze(st, func(name string) ([]string, bool) {
		t, ok := snap.Table(name)
		if !ok || !env.Queryable(t.Name) {
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
		only, restricted := env.Only[strings.ToLower(t.Name)]
		if restricted {
			part := *t
			part.Files = only
			t = &part
		}
		tp := TablePlan{Table: t.Name, Alias: r.Name, Files: len(t.Files), Kept: len(t.Files), Pushed: describePred(r.Pred, i)}
		switch {
		case restricted && (r.Start < 0 || nulColumn(t)):
			return nil, fmt.Errorf("table %s cannot be read in parts here", t.Name)
		case r.Start < 0:
			tp.Skipped = "reference not rewritable"
		case nulColumn(t):
			tp.Skipped = "a column name with a NUL byte cannot be written in a rewrite"
		case r.Pred == nil && !restricted:
		default:
			kept := prune(t, r.Pred, i, r.NullSupplying)
			kepts[i] = kept
			tp.Kept = len(kept)
			if len(kept) < len(t.Files) || restricted {
				scan, err := env.Scan(t, kept)
				if err != nil {
					return nil, err
				}
				edits = append(edits, sql.Edit{Start: r.Start, End: r.End, Text: scan + " AS " + connectors.QuoteIdent(r.Name)})
			}
		}
		p.Tables = append(p.Tables, tp)
	}
	p.SQL, p.Rewritten = sql.Rewrite(text, edits), len(edits) > 0
	if len(a.Aggs) > 0 && !env.Live(a.Refs[0].Table) && env.Only == nil {
		t, _ := snap.Table(a.Refs[0].Table)
		kept := kepts[0]
		if kept == nil {
			kept = t.Files
		}
		p.Stats = fromStats(text, t, a, kept, env.Scan)
	}
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
		case sql.OpExtent:
			if len(vals) == 2 { // ST_DWithin
				return p.Column + " && " + vals[0] + " grown by " + vals[1]
			}
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

// StatsAnswer is the answer to SELECT count(*)/min/max FROM t [WHERE
// partition predicates] from statistics alone. Its values are known; the
// names of its result columns are DuckDB's to give: the engine describes
// Probe (the statement over an empty relation of the table's schema, which
// binds at once) and passes the names to SQL.
type StatsAnswer struct {
	Probe string
	vals  []*string // nil: NULL
	types []string
}

// SQL is the statement that returns the answer under the given column
// names; false when they do not fit it.
func (s *StatsAnswer) SQL(names []string) (string, bool) {
	if len(names) != len(s.vals) {
		return "", false
	}
	sel := make([]string, len(s.vals))
	for i, v := range s.vals {
		lit := "NULL"
		if v != nil {
			lit = "'" + strings.ReplaceAll(*v, "'", "''") + "'"
		}
		sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", lit, s.types[i], connectors.QuoteIdent(names[i]))
	}
	return "SELECT " + strings.Join(sel, ", "), true
}

// fromStats is the statistics' answer, when every kept file certainly
// satisfies the WHERE clause and every aggregate is exact in the
// statistics; nil otherwise.
func fromStats(text string, t *catalog.Table, a *sql.Analysis, kept []*catalog.File, scan func(*catalog.Table, []*catalog.File) (string, error)) *StatsAnswer {
	p := a.Refs[0].Pred
	for _, f := range kept {
		if f.Inexact || !certain(t, f, p) {
			return nil // an Inexact file's statistics answer nothing
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
			return nil
		}
		v, ok := extreme(t, col, kept, agg.Func == "max")
		if !ok || v != nil && strings.ContainsRune(*v, 0) {
			return nil // a NUL byte cannot travel in SQL text
		}
		vals[i], types[i] = v, col.Type
	}
	r := a.Refs[0]
	empty, err := scan(t, []*catalog.File{})
	if err != nil {
		return nil
	}
	probe := sql.Rewrite(text, []sql.Edit{{Start: r.Start, End: r.End, Text: empty + " AS " + connectors.QuoteIdent(r.Name)}})
	return &StatsAnswer{Probe: probe, vals: vals, types: types}
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
