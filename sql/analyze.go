package sql

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// Op is a comparison the pruner understands.
type Op string

// The comparisons Analyze extracts.
const (
	OpEq        Op = "="
	OpNe        Op = "<>"
	OpLt        Op = "<"
	OpLe        Op = "<="
	OpGt        Op = ">"
	OpGe        Op = ">="
	OpIn        Op = "IN"
	OpBetween   Op = "BETWEEN"
	OpIsNull    Op = "IS NULL"
	OpIsNotNull Op = "IS NOT NULL"
	OpPrefix    Op = "LIKE"
	OpExtent    Op = "&&"
)

// Kind is a literal's kind.
type Kind int

// Literal kinds.
const (
	Number    Kind = iota + 1 // exact decimal text: "-3", "10.5", "1500.0"
	String                    // VARCHAR text
	Date                      // text cast to DATE
	Timestamp                 // text cast to TIMESTAMP
	Geometry                  // WKT text cast to GEOMETRY
)

// Literal is a constant in a predicate.
type Literal struct {
	Kind Kind
	Text string
}

// PredKind is a predicate node's kind.
type PredKind int

// Predicate node kinds.
const (
	And PredKind = iota + 1
	Or
	Leaf
	Unknown // anything else: may be true for any row
)

// Pred is a predicate tree over one SELECT's base tables.
type Pred struct {
	Kind     PredKind
	Children []*Pred // And, Or
	// Leaf: Ref is the index in Analysis.Refs of the table whose Column is
	// compared; Values are the literals (two for BETWEEN, the prefix for
	// LIKE, none for IS [NOT] NULL).
	Ref    int
	Column string
	Op     Op
	Values []Literal
}

// Ref is a reference to a catalog table in the statement.
type Ref struct {
	// Table is the catalog table's name.
	Table string
	// Name is what the query calls it: its alias, or the table's name.
	Name string
	// Start and End delimit the reference (name and alias) in the text;
	// Start < 0 when the span is unknown (then the reference is left as is).
	Start, End int
	// Pred filters the rows of this reference (leaves on other references
	// count as Unknown); nil when none.
	Pred *Pred
	// NullSupplying is true on the null-supplying side of an outer join:
	// IS NULL leaves do not prune there.
	NullSupplying bool
}

// Agg is one aggregate of a statement that statistics might answer.
type Agg struct {
	Func   string // count_star, min, max
	Column string // min and max
}

// Analysis is what Analyze learned of a statement.
type Analysis struct {
	Refs []Ref
	// Aggs is set when the statement is exactly SELECT count(*) / min(col)
	// / max(col), ... FROM one catalog table [WHERE ...]: then Refs has one
	// element and the answer may come from statistics.
	Aggs []Agg
}

// Columns tells Analyze a catalog table's column names; ok is false for
// names that are not catalog tables.
type Columns func(table string) (cols []string, ok bool)

// Analyze finds the statement's references to catalog tables and the
// predicates on each.
func Analyze(st *Statement, columns Columns) *Analysis {
	w := &walker{text: st.Text, columns: columns, ctes: map[string]bool{}, a: &Analysis{}}
	collectCTEs(st.Node, w.ctes)
	w.walk(st.Node)
	w.a.Aggs = w.simpleAggs(st.Node)
	return w.a
}

type walker struct {
	text    string
	columns Columns
	ctes    map[string]bool
	a       *Analysis
}

// collectCTEs gathers every CTE name: a base table with such a name may be
// the CTE, so it is never rewritten.
func collectCTEs(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if cm, ok := x["cte_map"].(map[string]any); ok {
			if list, ok := cm["map"].([]any); ok {
				for _, e := range list {
					if m, ok := e.(map[string]any); ok {
						if k, ok := m["key"].(string); ok {
							into[strings.ToLower(k)] = true
						}
					}
				}
			}
		}
		for _, c := range x {
			collectCTEs(c, into)
		}
	case []any:
		for _, c := range x {
			collectCTEs(c, into)
		}
	}
}

// walk finds every SELECT node, wherever it is (CTEs, subqueries, set
// operations, expressions).
func (w *walker) walk(v any) {
	switch x := v.(type) {
	case map[string]any:
		if x["type"] == "SELECT_NODE" {
			w.selectNode(x)
		}
		for _, c := range x {
			w.walk(c)
		}
	case []any:
		for _, c := range x {
			w.walk(c)
		}
	}
}

// source is one relation in a SELECT's FROM.
type source struct {
	name   string   // lower-cased alias or table name
	ref    int      // index in Refs; -1 for opaque sources
	cols   []string // lower-cased, for base tables
	opaque bool     // subquery, table function, CTE, ...: columns unknown
}

func (w *walker) selectNode(n map[string]any) {
	var srcs []source
	w.from(n["from_table"], false, true, &srcs)
	where, ok := n["where_clause"].(map[string]any)
	if !ok {
		return
	}
	p := w.pred(where, srcs)
	for _, s := range srcs {
		if s.ref >= 0 {
			w.a.Refs[s.ref].Pred = p
		}
	}
}

// from collects a FROM clause's sources. prunable is false below joins whose
// semantics change when an input loses rows that the WHERE rejects (ASOF,
// positional, lateral).
func (w *walker) from(v any, nullSupplying, prunable bool, srcs *[]source) {
	t, ok := v.(map[string]any)
	if !ok {
		return
	}
	alias, _ := t["alias"].(string)
	switch t["type"] {
	case "BASE_TABLE":
		table, _ := t["table_name"].(string)
		schema, _ := t["schema_name"].(string)
		catalog, _ := t["catalog_name"].(string)
		name := alias
		if name == "" {
			name = table
		}
		cols, known := w.columns(table)
		if !known || w.ctes[strings.ToLower(table)] ||
			(catalog != "" && !strings.EqualFold(catalog, "qry")) ||
			(schema != "" && !strings.EqualFold(schema, "main")) {
			*srcs = append(*srcs, source{name: strings.ToLower(name), ref: -1, opaque: true})
			return
		}
		start, end := -1, -1
		if prunable && t["sample"] == nil && t["at_clause"] == nil && emptyList(t["column_name_alias"]) {
			if loc, ok := location(t["query_location"]); ok {
				start, end = w.refSpan(loc, alias)
			}
		}
		w.a.Refs = append(w.a.Refs, Ref{Table: table, Name: name, Start: start, End: end, NullSupplying: nullSupplying})
		lc := make([]string, len(cols))
		for i, c := range cols {
			lc[i] = strings.ToLower(c)
		}
		*srcs = append(*srcs, source{name: strings.ToLower(name), ref: len(w.a.Refs) - 1, cols: lc})
	case "JOIN":
		jt, _ := t["join_type"].(string)
		rt, _ := t["ref_type"].(string)
		ok := prunable && (rt == "REGULAR" || rt == "CROSS" || rt == "")
		leftNull, rightNull := nullSupplying, nullSupplying
		switch jt {
		case "LEFT":
			rightNull = true
		case "RIGHT":
			leftNull = true
		case "OUTER":
			leftNull, rightNull = true, true
		case "INNER", "":
		default: // SEMI, ANTI, MARK, ...: leave both sides alone
			ok = false
		}
		w.from(t["left"], leftNull, ok, srcs)
		w.from(t["right"], rightNull, ok, srcs)
	default:
		*srcs = append(*srcs, source{name: strings.ToLower(alias), ref: -1, opaque: true})
	}
}

func emptyList(v any) bool {
	l, ok := v.([]any)
	return v == nil || (ok && len(l) == 0)
}

func location(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	if err != nil || i < 0 {
		return 0, false
	}
	return int(i), true
}

// column resolves a column reference to a base-table source, or -1.
func resolve(names []string, srcs []source) (int, string) {
	switch len(names) {
	case 1:
		col := strings.ToLower(names[0])
		found := -1
		for _, s := range srcs {
			if s.opaque {
				return -1, "" // it might be the opaque source's column
			}
			if contains(s.cols, col) {
				if found >= 0 {
					return -1, "" // ambiguous
				}
				found = s.ref
			}
		}
		return found, names[0]
	case 2:
		rel, col := strings.ToLower(names[0]), strings.ToLower(names[1])
		for _, s := range srcs {
			if s.name == rel {
				if s.opaque || !contains(s.cols, col) {
					return -1, ""
				}
				return s.ref, names[1]
			}
		}
	}
	return -1, ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var comparisons = map[string]Op{
	"COMPARE_EQUAL": OpEq, "COMPARE_NOTEQUAL": OpNe,
	"COMPARE_LESSTHAN": OpLt, "COMPARE_LESSTHANOREQUALTO": OpLe,
	"COMPARE_GREATERTHAN": OpGt, "COMPARE_GREATERTHANOREQUALTO": OpGe,
}

var flipped = map[Op]Op{OpEq: OpEq, OpNe: OpNe, OpLt: OpGt, OpLe: OpGe, OpGt: OpLt, OpGe: OpLe}

var unknown = &Pred{Kind: Unknown}

// pred turns an expression into a predicate tree.
func (w *walker) pred(e map[string]any, srcs []source) *Pred {
	typ, _ := e["type"].(string)
	children := list(e["children"])
	switch typ {
	case "CONJUNCTION_AND", "CONJUNCTION_OR":
		p := &Pred{Kind: And}
		if typ == "CONJUNCTION_OR" {
			p.Kind = Or
		}
		for _, c := range children {
			if m, ok := c.(map[string]any); ok {
				p.Children = append(p.Children, w.pred(m, srcs))
			} else {
				p.Children = append(p.Children, unknown)
			}
		}
		return p
	case "COMPARE_IN":
		if len(children) < 2 {
			return unknown
		}
		ref, col := w.column(children[0], srcs)
		if ref < 0 {
			return unknown
		}
		var vals []Literal
		for _, c := range children[1:] {
			lit, ok := literal(c)
			if !ok {
				return unknown
			}
			vals = append(vals, lit)
		}
		return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: OpIn, Values: vals}
	case "COMPARE_BETWEEN":
		ref, col := w.column(e["input"], srcs)
		lo, ok1 := literal(e["lower"])
		hi, ok2 := literal(e["upper"])
		if ref < 0 || !ok1 || !ok2 {
			return unknown
		}
		return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: OpBetween, Values: []Literal{lo, hi}}
	case "OPERATOR_IS_NULL", "OPERATOR_IS_NOT_NULL":
		if len(children) != 1 {
			return unknown
		}
		ref, col := w.column(children[0], srcs)
		if ref < 0 {
			return unknown
		}
		op := OpIsNull
		if typ == "OPERATOR_IS_NOT_NULL" {
			op = OpIsNotNull
		}
		return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: op}
	case "FUNCTION":
		args := children
		if len(args) == 0 {
			for _, a := range list(e["arguments"]) {
				if m, ok := a.(map[string]any); ok {
					args = append(args, m["expression"])
				}
			}
		}
		if p, ok := w.spatial(e, args, srcs); ok {
			return p
		}
		if len(args) != 2 {
			return unknown
		}
		switch e["function_name"] {
		case "~~":
			ref, col := w.column(args[0], srcs)
			lit, ok := literal(args[1])
			if ref < 0 || !ok || lit.Kind != String {
				return unknown
			}
			prefix, ok := likePrefix(lit.Text)
			if !ok {
				return unknown
			}
			return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: OpPrefix, Values: []Literal{{Kind: String, Text: prefix}}}
		case "&&":
			for _, order := range [][2]any{{args[0], args[1]}, {args[1], args[0]}} {
				ref, col := w.column(order[0], srcs)
				lit, ok := geometryLiteral(order[1])
				if ref >= 0 && ok {
					return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: OpExtent, Values: []Literal{lit}}
				}
			}
		}
		return unknown
	}
	if op, ok := comparisons[typ]; ok {
		if ref, col := w.column(e["left"], srcs); ref >= 0 {
			if lit, ok := literal(e["right"]); ok {
				return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: op, Values: []Literal{lit}}
			}
		}
		if ref, col := w.column(e["right"], srcs); ref >= 0 {
			if lit, ok := literal(e["left"]); ok {
				return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: flipped[op], Values: []Literal{lit}}
			}
		}
	}
	return unknown
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func (w *walker) column(v any, srcs []source) (int, string) {
	m, ok := v.(map[string]any)
	if !ok || m["class"] != "COLUMN_REF" {
		return -1, ""
	}
	var names []string
	for _, n := range list(m["column_names"]) {
		s, ok := n.(string)
		if !ok {
			return -1, ""
		}
		names = append(names, s)
	}
	return resolve(names, srcs)
}

// likePrefix returns p for a pattern "p%" with no other wildcard.
func likePrefix(pattern string) (string, bool) {
	if !strings.HasSuffix(pattern, "%") {
		return "", false
	}
	p := strings.TrimSuffix(pattern, "%")
	if p == "" || strings.ContainsAny(p, `%_\`) {
		return "", false
	}
	return p, true
}

// literal reads a constant, a cast of a constant, or a negated number.
func literal(v any) (Literal, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return Literal{}, false
	}
	switch m["class"] {
	case "CONSTANT":
		return constant(m)
	case "CAST":
		if m["try_cast"] == true {
			return Literal{}, false
		}
		child, ok := m["child"].(map[string]any)
		if !ok || child["class"] != "CONSTANT" {
			return Literal{}, false
		}
		inner, ok := constant(child)
		if !ok {
			return Literal{}, false
		}
		ct, _ := m["cast_type"].(map[string]any)
		id, _ := ct["id"].(string)
		if ti, ok := ct["type_info"].(map[string]any); ok && strings.EqualFold(fmt.Sprint(ti["alias"]), "GEOMETRY") {
			id = "GEOMETRY" // a BLOB aliased GEOMETRY, as the parser sees the type
		}
		switch {
		case inner.Kind == String && id == "DATE":
			return Literal{Kind: Date, Text: inner.Text}, true
		case inner.Kind == String && id == "TIMESTAMP":
			return Literal{Kind: Timestamp, Text: inner.Text}, true
		case inner.Kind == String && id == "GEOMETRY":
			return Literal{Kind: Geometry, Text: inner.Text}, true
		case inner.Kind == String && id == "VARCHAR":
			return inner, true
		case inner.Kind == Number && numericType(id):
			return inner, true
		}
	case "FUNCTION":
		if m["function_name"] == "-" && len(list(m["children"])) == 1 {
			inner, ok := literal(list(m["children"])[0])
			if ok && inner.Kind == Number {
				if strings.HasPrefix(inner.Text, "-") {
					return Literal{Kind: Number, Text: inner.Text[1:]}, true
				}
				return Literal{Kind: Number, Text: "-" + inner.Text}, true
			}
		}
	}
	return Literal{}, false
}

// bboxPredicates are the spatial extension's predicates that hold only
// where the two geometries' bounding boxes meet: a file whose box misses
// the constant's holds no row that satisfies them.
var bboxPredicates = map[string]bool{
	"st_intersects": true, "st_contains": true, "st_within": true, "st_covers": true, "st_coveredby": true,
	"st_containsproperly": true, "st_equals": true, "st_touches": true, "st_overlaps": true, "st_crosses": true,
	"st_intersects_extent": true,
}

// spatial reads a spatial predicate between a column and a constant
// geometry, in either order, as an extent test (OpExtent): ST_Intersects,
// ST_Contains, ST_Within and the others of bboxPredicates; and
// ST_DWithin(column, constant, d), whose box is the constant's grown by d
// (a second value).
func (w *walker) spatial(e map[string]any, args []any, srcs []source) (*Pred, bool) {
	name := strings.ToLower(fmt.Sprint(e["function_name"]))
	switch {
	case bboxPredicates[name] && len(args) == 2:
		for _, order := range [][2]any{{args[0], args[1]}, {args[1], args[0]}} {
			ref, col := w.column(order[0], srcs)
			lit, ok := geometryLiteral(order[1])
			if ref >= 0 && ok {
				return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: OpExtent, Values: []Literal{lit}}, true
			}
		}
		return nil, false
	case name == "st_dwithin" && len(args) == 3:
		d, ok := literal(args[2])
		if !ok || d.Kind != Number || strings.HasPrefix(d.Text, "-") {
			return nil, false
		}
		for _, order := range [][2]any{{args[0], args[1]}, {args[1], args[0]}} {
			ref, col := w.column(order[0], srcs)
			lit, ok := geometryLiteral(order[1])
			if ref >= 0 && ok {
				return &Pred{Kind: Leaf, Ref: ref, Column: col, Op: OpExtent, Values: []Literal{lit, d}}, true
			}
		}
	}
	return nil, false
}

// geometryLiteral reads a constant geometry, as WKT: a text cast to
// GEOMETRY, ST_GeomFromText('...'), ST_Point(x, y) or ST_MakeEnvelope(x1,
// y1, x2, y2) of numbers.
func geometryLiteral(v any) (Literal, bool) {
	if lit, ok := literal(v); ok {
		return lit, lit.Kind == Geometry
	}
	m, ok := v.(map[string]any)
	if !ok || m["class"] != "FUNCTION" {
		return Literal{}, false
	}
	var args []any
	args = append(args, list(m["children"])...)
	nums := func() ([]string, bool) {
		out := make([]string, len(args))
		for i, a := range args {
			lit, ok := literal(a)
			if !ok || lit.Kind != Number {
				return nil, false
			}
			out[i] = lit.Text
		}
		return out, true
	}
	switch strings.ToLower(fmt.Sprint(m["function_name"])) {
	case "st_geomfromtext":
		if len(args) == 1 {
			if lit, ok := literal(args[0]); ok && lit.Kind == String {
				return Literal{Kind: Geometry, Text: lit.Text}, true
			}
		}
	case "st_point", "st_point2d":
		if n, ok := nums(); ok && len(n) == 2 {
			return Literal{Kind: Geometry, Text: fmt.Sprintf("POINT(%s %s)", n[0], n[1])}, true
		}
	case "st_makeenvelope":
		if n, ok := nums(); ok && len(n) == 4 {
			return Literal{Kind: Geometry, Text: fmt.Sprintf("POLYGON((%[1]s %[2]s, %[3]s %[2]s, %[3]s %[4]s, %[1]s %[4]s, %[1]s %[2]s))", n[0], n[1], n[2], n[3])}, true
		}
	}
	return Literal{}, false
}

func numericType(id string) bool {
	switch id {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
		"FLOAT", "DOUBLE", "DECIMAL", "HUGEINT":
		return true
	}
	return false
}

func constant(m map[string]any) (Literal, bool) {
	val, ok := m["value"].(map[string]any)
	if !ok || val["is_null"] == true {
		return Literal{}, false
	}
	t, _ := val["type"].(map[string]any)
	id, _ := t["id"].(string)
	switch x := val["value"].(type) {
	case string:
		if id == "VARCHAR" {
			return Literal{Kind: String, Text: x}, true
		}
	case json.Number:
		if !numericType(id) {
			return Literal{}, false
		}
		if id == "DECIMAL" {
			ti, _ := t["type_info"].(map[string]any)
			scale, err := ti["scale"].(json.Number).Int64()
			if err != nil {
				return Literal{}, false
			}
			r, ok := new(big.Rat).SetString(x.String())
			if !ok {
				return Literal{}, false
			}
			r.Quo(r, new(big.Rat).SetFrac(new(big.Int).Exp(big.NewInt(10), big.NewInt(scale), nil), big.NewInt(1)))
			return Literal{Kind: Number, Text: r.FloatString(int(scale))}, true
		}
		return Literal{Kind: Number, Text: x.String()}, true
	}
	return Literal{}, false
}

// simpleAggs recognizes SELECT count(*)/min(c)/max(c), ... FROM one table.
func (w *walker) simpleAggs(n map[string]any) []Agg {
	if n["type"] != "SELECT_NODE" || len(w.a.Refs) != 1 || w.a.Refs[0].Start < 0 ||
		!emptyList(n["modifiers"]) || !emptyList(n["group_expressions"]) || !emptyList(n["group_sets"]) ||
		n["having"] != nil || n["qualify"] != nil || n["sample"] != nil ||
		n["aggregate_handling"] != "STANDARD_HANDLING" {
		return nil
	}
	ft, ok := n["from_table"].(map[string]any)
	if !ok || ft["type"] != "BASE_TABLE" {
		return nil
	}
	if cm, ok := n["cte_map"].(map[string]any); ok && !emptyList(cm["map"]) {
		return nil
	}
	srcs := []source{}
	name := strings.ToLower(w.a.Refs[0].Name)
	cols, _ := w.columns(w.a.Refs[0].Table)
	lc := make([]string, len(cols))
	for i, c := range cols {
		lc[i] = strings.ToLower(c)
	}
	srcs = append(srcs, source{name: name, ref: 0, cols: lc})
	var aggs []Agg
	for _, item := range list(n["select_list"]) {
		f, ok := item.(map[string]any)
		if !ok || f["class"] != "FUNCTION" || f["filter"] != nil || f["distinct"] == true {
			return nil
		}
		if ob, ok := f["order_bys"].(map[string]any); ok && !emptyList(ob["orders"]) {
			return nil
		}
		args := list(f["children"])
		switch fn, _ := f["function_name"].(string); {
		case fn == "count_star" && len(args) == 0:
			aggs = append(aggs, Agg{Func: "count_star"})
		case (fn == "min" || fn == "max") && len(args) == 1:
			ref, col := w.column(args[0], srcs)
			if ref != 0 {
				return nil
			}
			aggs = append(aggs, Agg{Func: fn, Column: col})
		default:
			return nil
		}
	}
	return aggs
}
