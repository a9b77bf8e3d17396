package planner

import (
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb/encoding/wkt"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/sql"
)

// Pruning decides, from a file's statistics and partition values alone,
// whether any of its rows may satisfy a reference's predicate. Every answer
// it is unsure of is "may match": pruning costs speed when weak, never
// correctness.

// prune returns the files of t that may hold rows satisfying p for
// reference ref. The result is never nil.
func prune(t *catalog.Table, p *sql.Pred, ref int, nullSupplying bool) []*catalog.File {
	kept := make([]*catalog.File, 0, len(t.Files))
	for _, f := range t.Files {
		if mayMatch(t, f, p, ref, nullSupplying) {
			kept = append(kept, f)
		}
	}
	return kept
}

func mayMatch(t *catalog.Table, f *catalog.File, p *sql.Pred, ref int, nullSupplying bool) bool {
	if p == nil {
		return true
	}
	switch p.Kind {
	case sql.And:
		for _, c := range p.Children {
			if !mayMatch(t, f, c, ref, nullSupplying) {
				return false
			}
		}
		return true
	case sql.Or:
		for _, c := range p.Children {
			if mayMatch(t, f, c, ref, nullSupplying) {
				return true
			}
		}
		return false
	case sql.Leaf:
		if p.Ref != ref {
			return true
		}
		return leafMayMatch(t, f, p, nullSupplying)
	}
	return true
}

func leafMayMatch(t *catalog.Table, f *catalog.File, p *sql.Pred, nullSupplying bool) bool {
	col, ok := t.Column(p.Column)
	if !ok {
		return true
	}
	if p.Op == sql.OpIsNull && nullSupplying {
		return true // NULL-extended rows satisfy it whatever the files hold
	}
	if col.Partition {
		v, has := f.Partition[col.Name]
		if !has {
			return true
		}
		switch p.Op {
		case sql.OpIsNull:
			return v == ""
		case sql.OpIsNotNull:
			return v != ""
		}
		if v == "" {
			return false // NULL compares to nothing
		}
		return inRange(col.Type, v, v, p, true, true)
	}
	if f.Inexact {
		return true // its statistics rule nothing out; partition values still do
	}
	if f.Rows == 0 {
		return false
	}
	ftype := f.FileType(col.Name)
	if ftype == "" {
		// The file lacks the column: it is NULL in every row.
		return p.Op == sql.OpIsNull
	}
	if p.Op == sql.OpExtent {
		return extentMayMatch(t, f, p)
	}
	st, ok := f.Stats[col.Name]
	if !ok || st.NullCount < 0 {
		return true
	}
	switch p.Op {
	case sql.OpIsNull:
		return st.NullCount > 0
	case sql.OpIsNotNull:
		return st.NullCount < f.Rows
	}
	if st.NullCount >= f.Rows {
		return false // all NULL: no comparison holds
	}
	if !st.HasMinMax || ftype != col.Type {
		return true
	}
	// A Parquet writer may leave NaN out of a float column's max, and NaN
	// sorts above every number in DuckDB: do not trust the max there.
	trustMax := !(t.Format == "parquet" && (col.Type == "DOUBLE" || col.Type == "FLOAT"))
	return inRange(col.Type, st.Min, st.Max, p, true, trustMax)
}

// inRange reports whether a value in [lo, hi] may satisfy the leaf. With
// trustLo or trustHi false, that bound is taken as unbounded.
func inRange(typ, lo, hi string, p *sql.Pred, trustLo, trustHi bool) bool {
	if typ == "DOUBLE" || typ == "FLOAT" || typ == "REAL" {
		// DuckDB compares a float column with a decimal literal through a
		// conversion that may be off by an ulp: a value equal to the
		// literal in exact arithmetic may compare greater. Prune only
		// beyond a margin of such errors.
		// A FLOAT's text is shortest for float32, not for the double
		// DuckDB compares it as: a wider margin.
		rel := 1e-9
		if typ != "DOUBLE" {
			rel = 1e-6
		}
		lo, hi = widenFloat(lo, -rel), widenFloat(hi, rel)
	}
	// below: v < lo certainly; above: v > hi certainly (both false when
	// unknown).
	cmp := func(a, b string) (int, bool) { return catalog.Compare(typ, a, b) }
	below := func(v string) bool {
		c, ok := cmp(v, lo)
		return trustLo && ok && c < 0
	}
	above := func(v string) bool {
		c, ok := cmp(v, hi)
		return trustHi && ok && c > 0
	}
	vals := make([]string, len(p.Values))
	for i, l := range p.Values {
		v, ok := literalFor(typ, l)
		if !ok {
			return true
		}
		vals[i] = v
	}
	switch p.Op {
	case sql.OpEq:
		return !below(vals[0]) && !above(vals[0])
	case sql.OpNe:
		// Only a file whose every value equals v is excluded.
		c1, ok1 := cmp(lo, vals[0])
		c2, ok2 := cmp(hi, vals[0])
		return !(trustLo && trustHi && ok1 && ok2 && c1 == 0 && c2 == 0)
	case sql.OpLt: // some value < v  <=> lo < v
		c, ok := cmp(lo, vals[0])
		return !(trustLo && ok && c >= 0)
	case sql.OpLe:
		c, ok := cmp(lo, vals[0])
		return !(trustLo && ok && c > 0)
	case sql.OpGt:
		c, ok := cmp(hi, vals[0])
		return !(trustHi && ok && c <= 0)
	case sql.OpGe:
		c, ok := cmp(hi, vals[0])
		return !(trustHi && ok && c < 0)
	case sql.OpIn:
		for _, v := range vals {
			if !below(v) && !above(v) {
				return true
			}
		}
		return false
	case sql.OpBetween:
		// [vals0, vals1] overlaps [lo, hi]
		return !above(vals[0]) && !below(vals[1])
	case sql.OpPrefix:
		if typ != "VARCHAR" {
			return true
		}
		prefix := vals[0]
		if c, ok := cmp(hi, prefix); trustHi && ok && c < 0 {
			return false // every value sorts before the prefix
		}
		if next, ok := successor(prefix); ok {
			if c, ok := cmp(lo, next); trustLo && ok && c >= 0 {
				return false // every value sorts after all strings with the prefix
			}
		}
		return true
	}
	return true
}

// successor is the smallest string greater than every string starting with
// p, if there is one.
func successor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// literalFor puts a literal in the text form of a column type, or reports
// that the two do not compare without DuckDB's casting rules.
func literalFor(typ string, l sql.Literal) (string, bool) {
	switch {
	case isNumericType(typ):
		return l.Text, l.Kind == sql.Number
	case typ == "VARCHAR":
		return l.Text, l.Kind == sql.String
	case typ == "DATE":
		if (l.Kind == sql.String || l.Kind == sql.Date) && isDate(l.Text) {
			return l.Text, true
		}
	case strings.HasPrefix(typ, "TIMESTAMP") && !strings.Contains(typ, "TIME ZONE"):
		if l.Kind == sql.String || l.Kind == sql.Date || l.Kind == sql.Timestamp {
			if isDate(l.Text) {
				return l.Text + " 00:00:00", true
			}
			_, ok := catalog.Compare("TIMESTAMP", l.Text, l.Text)
			return l.Text, ok
		}
	}
	return "", false
}

func isDate(s string) bool {
	_, ok := catalog.Compare("DATE", s, s)
	return ok && len(s) == 10
}

func isNumericType(t string) bool {
	switch t {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE":
		return true
	}
	return strings.HasPrefix(t, "DECIMAL")
}

// extentMayMatch tests a file's bounding box against a geometry literal's.
func extentMayMatch(t *catalog.Table, f *catalog.File, p *sql.Pred) bool {
	if len(p.Values) < 1 || len(p.Values) > 2 {
		return true
	}
	geojson := t.Format == "geojson"
	if !geojson && (f.BBox == nil || !strings.EqualFold(f.BBoxColumn, p.Column)) {
		return true // only a box known for this column rules a file out
	}
	g, err := wkt.Unmarshal(p.Values[0].Text)
	if err != nil || g == nil {
		return true
	}
	if f.BBox == nil {
		// No box: either every geometry is NULL (prune) or no statistics.
		st, ok := f.Stats["minx"]
		return !(ok && st.NullCount == f.Rows)
	}
	b := g.Bound()
	if len(p.Values) == 2 { // ST_DWithin: the box grown by the distance
		d, err := strconv.ParseFloat(p.Values[1].Text, 64)
		if err != nil || math.IsNaN(d) || d < 0 {
			return true
		}
		// A margin for the float arithmetic of DuckDB's distance.
		d += math.Abs(d)*1e-9 + 1e-12
		b.Min[0], b.Min[1], b.Max[0], b.Max[1] = b.Min[0]-d, b.Min[1]-d, b.Max[0]+d, b.Max[1]+d
	}
	return !(f.BBox.MaxX < b.Min[0] || f.BBox.MinX > b.Max[0] || f.BBox.MaxY < b.Min[1] || f.BBox.MinY > b.Max[1])
}

// widenFloat moves a float bound by rel of itself (negative: down), a
// margin far above conversion errors and far below any range worth
// pruning by.
func widenFloat(v string, rel float64) string {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return v
	}
	f += math.Abs(f)*rel + math.Copysign(1e-300, rel)
	return strconv.FormatFloat(f, 'g', -1, 64)
}
