package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qry-dev/qry/connectors"
)

// shortType words a type for a message: a GEOMETRY's CRS written as
// PROJJSON becomes its identifier (GEOMETRY('EPSG:3857')), or its name.
func shortType(t string) string {
	inner, ok := strings.CutPrefix(t, "GEOMETRY('")
	if !ok || !strings.HasPrefix(inner, "{") {
		return t
	}
	inner = strings.TrimSuffix(inner, "')")
	var crs struct {
		Name string `json:"name"`
		ID   struct {
			Authority string `json:"authority"`
			Code      any    `json:"code"`
		} `json:"id"`
	}
	if json.Unmarshal([]byte(strings.ReplaceAll(inner, "''", "'")), &crs) != nil {
		return "GEOMETRY(a CRS in PROJJSON)"
	}
	if crs.ID.Authority != "" {
		return fmt.Sprintf("GEOMETRY('%s:%v')", crs.ID.Authority, crs.ID.Code)
	}
	return fmt.Sprintf("GEOMETRY(%q)", crs.Name)
}

var signedRank = map[string]int{"TINYINT": 1, "SMALLINT": 2, "INTEGER": 3, "BIGINT": 4, "HUGEINT": 5}
var unsignedRank = map[string]int{"UTINYINT": 1, "USMALLINT": 2, "UINTEGER": 3, "UBIGINT": 4}
var signedByRank = []string{"", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}

func isTimestamp(t string) bool {
	return t == "TIMESTAMP" || t == "TIMESTAMP_S" || t == "TIMESTAMP_MS" || t == "TIMESTAMP_NS"
}

func isNumeric(t string) bool {
	return signedRank[t] > 0 || unsignedRank[t] > 0 || t == "FLOAT" || t == "DOUBLE" || strings.HasPrefix(t, "DECIMAL")
}

// Widen returns the narrowest type that holds values of both a and b, and
// false when there is none worth having (a number and a string in a binary
// format, a struct and a scalar). text is true for text formats (CSV,
// GeoJSON), where VARCHAR holds anything.
func Widen(a, b string, text bool) (string, bool) {
	switch {
	case a == b:
		return a, true
	case text && (a == "VARCHAR" || b == "VARCHAR"):
		return "VARCHAR", true
	case signedRank[a] > 0 && signedRank[b] > 0:
		return signedByRank[max(signedRank[a], signedRank[b])], true
	case unsignedRank[a] > 0 && unsignedRank[b] > 0:
		if unsignedRank[a] > unsignedRank[b] {
			return a, true
		}
		return b, true
	case signedRank[a] > 0 && unsignedRank[b] > 0:
		return signedByRank[min(5, max(signedRank[a], unsignedRank[b]+1))], true
	case unsignedRank[a] > 0 && signedRank[b] > 0:
		return signedByRank[min(5, max(signedRank[b], unsignedRank[a]+1))], true
	case isNumeric(a) && isNumeric(b):
		return "DOUBLE", true
	case (a == "DATE" && isTimestamp(b)) || (b == "DATE" && isTimestamp(a)) || (isTimestamp(a) && isTimestamp(b)):
		return "TIMESTAMP", true
	}
	return "", false
}

// schemaBuilder unifies file schemas by name, in first-seen order.
type schemaBuilder struct {
	cols  []connectors.Column
	index map[string]int // lower-cased name -> position
	text  bool
	// ordered requires every file to have exactly the first file's column
	// names, in order (CSV: columns are positional at scan time).
	ordered bool
}

// add merges a file's columns, or returns why it cannot, leaving the schema
// unchanged.
func (s *schemaBuilder) add(cols []connectors.Column) error {
	if s.index == nil {
		s.index = map[string]int{}
	}
	if s.ordered && len(s.cols) > 0 {
		if len(cols) != len(s.cols) {
			return fmt.Errorf("%w: %d columns, the table has %d (%s)", ErrSchema, len(cols), len(s.cols), names(s.cols))
		}
		for i, c := range cols {
			if !strings.EqualFold(c.Name, s.cols[i].Name) {
				return fmt.Errorf("%w: column %d is %q, the table's is %q", ErrSchema, i+1, c.Name, s.cols[i].Name)
			}
		}
	}
	next := append([]connectors.Column(nil), s.cols...)
	for _, c := range cols {
		i, ok := s.index[strings.ToLower(c.Name)]
		if !ok {
			continue
		}
		w, ok := Widen(next[i].Type, c.Type, s.text)
		if !ok {
			here, there := shortType(c.Type), shortType(next[i].Type)
			if strings.HasPrefix(here, "GEOMETRY") && strings.HasPrefix(there, "GEOMETRY") {
				return fmt.Errorf("%w: column %s is %s here but %s in the table: one table holds one CRS", ErrSchema, c.Name, here, there)
			}
			return fmt.Errorf("%w: column %s is %s here but %s in the table", ErrSchema, c.Name, here, there)
		}
		next[i].Type = w
	}
	for _, c := range cols {
		if _, ok := s.index[strings.ToLower(c.Name)]; !ok {
			s.index[strings.ToLower(c.Name)] = len(next)
			next = append(next, c)
		}
	}
	s.cols = next
	return nil
}

func names(cols []connectors.Column) string {
	ns := make([]string, len(cols))
	for i, c := range cols {
		ns[i] = c.Name
	}
	return strings.Join(ns, ", ")
}
