package sql

import (
	"fmt"
	"strings"

	"github.com/qry-dev/qry/fault"
)

// ErrForbidden is wrapped by CheckSources's errors.
var ErrForbidden = fault.New(fault.Forbidden, "not allowed")

// allowedFunctions are the table functions a sandboxed statement may call:
// they generate rows and read no file.
var allowedFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true, "json_each": true, "json_tree": true,
}

// deniedFunctions are scalar functions a sandboxed statement may not call:
// DuckDB's settings can hold credentials (an object store's keys).
var deniedFunctions = map[string]bool{"current_setting": true}

// showNames are the names SHOW takes that are not tables (SHOW TABLES, SHOW
// DATABASES, ...): DuckDB lists its metadata for them.
var showNames = map[string]bool{
	`"tables"`: true, `"databases"`: true, `"all_tables"`: true, `"schemas"`: true,
	"tables": true, "databases": true, "all_tables": true, "schemas": true,
}

// CheckSources reports whether a statement reads only catalog tables (and
// its own CTEs, information_schema, pg_catalog, DuckDB's metadata views,
// and table functions that read no file). isTable tells catalog tables by
// name. This is the sandbox's statement gate, and it fails closed: a query
// node or table reference of a type it does not know, a name that could be
// a file, a table function that could read one: each is refused.
//
// CTE names are resolved per scope, as DuckDB binds them: a CTE is visible
// in the rest of its WITH (the CTEs after it and the query) and in
// subqueries there, never before it nor outside; a recursive CTE also sees
// itself in its recursive part.
func CheckSources(st *Statement, isTable func(name string) bool) error {
	g := gate{isTable: isTable}
	return g.node(st.Node, nil)
}

type gate struct {
	isTable func(string) bool
}

// scope is a chain of CTE names visible at a point of the tree.
type scope struct {
	name   string
	parent *scope
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if equalFoldASCII(s.name, name) {
			return true
		}
	}
	return false
}

// equalFoldASCII compares names as DuckDB binds them: ASCII letters in
// any case, every other character exactly. (strings.EqualFold would also
// take "ſ" for "s" and the Kelvin sign for "k": a CTE so named would hide
// a path DuckDB reads.)
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func forbid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrForbidden, fmt.Sprintf(format, args...))
}

// node checks a query node.
func (g *gate) node(v any, sc *scope) error {
	m, ok := v.(map[string]any)
	if !ok {
		return forbid("a query the sandbox cannot analyse")
	}
	sc, err := g.ctes(m, sc)
	if err != nil {
		return err
	}
	typ, _ := m["type"].(string)
	switch typ {
	case "SELECT_NODE":
		for k, x := range m {
			var err error
			switch k {
			case "type", "cte_map":
			case "from_table":
				err = g.ref(x, sc)
			default:
				err = g.expr(x, sc)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE":
		right := sc
		if typ == "RECURSIVE_CTE_NODE" {
			name, _ := m["cte_name"].(string)
			right = &scope{name: name, parent: sc}
		}
		for k, x := range m {
			var err error
			switch k {
			case "type", "cte_map", "cte_name", "ctename":
			case "left":
				err = g.node(x, sc)
			case "right":
				err = g.node(x, right)
			case "children":
				list, ok := x.([]any)
				if !ok {
					return forbid("a query the sandbox cannot analyse")
				}
				for _, c := range list {
					if err = g.node(c, sc); err != nil {
						break
					}
				}
			case "query", "child":
				// CTE_NODE: the CTE's query, then the child that sees it.
				inner := sc
				if k == "child" {
					name, _ := m["ctename"].(string)
					inner = &scope{name: name, parent: sc}
				}
				err = g.node(x, inner)
			default:
				err = g.expr(x, sc)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return forbid("a query node of type %q the sandbox cannot analyse", typ)
}

// ctes checks a node's WITH clause, in order, and returns the scope of the
// node's body.
func (g *gate) ctes(m map[string]any, sc *scope) (*scope, error) {
	cm, ok := m["cte_map"]
	if !ok || cm == nil {
		return sc, nil
	}
	cmm, ok := cm.(map[string]any)
	if !ok {
		return nil, forbid("a WITH clause the sandbox cannot analyse")
	}
	entries, ok := cmm["map"].([]any)
	if !ok {
		return nil, forbid("a WITH clause the sandbox cannot analyse")
	}
	for _, e := range entries {
		em, _ := e.(map[string]any)
		name, _ := em["key"].(string)
		val, _ := em["value"].(map[string]any)
		q, _ := val["query"].(map[string]any)
		if name == "" || q == nil {
			return nil, forbid("a WITH clause the sandbox cannot analyse")
		}
		// The CTE's own body sees the CTEs before it, not itself.
		if err := g.node(q["node"], sc); err != nil {
			return nil, err
		}
		for k, x := range val {
			if k != "query" {
				if err := g.expr(x, sc); err != nil {
					return nil, err
				}
			}
		}
		sc = &scope{name: name, parent: sc}
	}
	return sc, nil
}

// ref checks a table reference.
func (g *gate) ref(v any, sc *scope) error {
	m, ok := v.(map[string]any)
	if !ok {
		return forbid("a table reference the sandbox cannot analyse")
	}
	typ, _ := m["type"].(string)
	skip := map[string]bool{"type": true}
	switch typ {
	case "EMPTY", "EXPRESSION_LIST":
	case "BASE_TABLE":
		if err := g.base(m, sc); err != nil {
			return err
		}
		skip["table_name"], skip["schema_name"], skip["catalog_name"] = true, true, true
	case "JOIN":
		for _, k := range []string{"left", "right"} {
			if err := g.ref(m[k], sc); err != nil {
				return err
			}
			skip[k] = true
		}
	case "SUBQUERY":
		sub, _ := m["subquery"].(map[string]any)
		if err := g.node(sub["node"], sc); err != nil {
			return err
		}
		skip["subquery"] = true
	case "TABLE_FUNCTION":
		fn, _ := m["function"].(map[string]any)
		name, _ := fn["function_name"].(string)
		if cat, _ := fn["catalog"].(string); cat != "" {
			return forbid("table function %s.%s: only catalog tables can be read", cat, name)
		}
		if schema, _ := fn["schema"].(string); schema != "" || !allowedFunctions[strings.ToLower(name)] {
			return forbid("table function %s: only catalog tables can be read", name)
		}
	case "PIVOT":
		if err := g.ref(m["source"], sc); err != nil {
			return err
		}
		skip["source"] = true
	case "SHOW_REF":
		if q := m["query"]; q != nil {
			if err := g.node(q, sc); err != nil {
				return err
			}
		} else {
			name, _ := m["table_name"].(string)
			unquoted := strings.Trim(name, `"`)
			if !showNames[strings.ToLower(name)] && !g.isTable(unquoted) {
				return forbid("SHOW %s: only catalog tables can be shown", name)
			}
		}
		skip["query"], skip["table_name"] = true, true
	default:
		return forbid("a table reference of type %q the sandbox cannot analyse", typ)
	}
	for k, x := range m {
		if skip[k] {
			continue
		}
		if err := g.expr(x, sc); err != nil {
			return err
		}
	}
	return nil
}

// base checks a named table reference: a CTE in scope, a catalog table, a
// metadata view, or a plain name DuckDB will say does not exist. Anything
// that could name a file is refused.
func (g *gate) base(m map[string]any, sc *scope) error {
	name, _ := m["table_name"].(string)
	schema, _ := m["schema_name"].(string)
	catalog, _ := m["catalog_name"].(string)
	if catalog == "" && schema == "" && sc.has(name) {
		return nil
	}
	switch {
	case catalog != "" && !equalFoldASCII(catalog, "qry"):
		return forbid("catalog %s: only catalog qry can be read", catalog)
	case schema == "" || equalFoldASCII(schema, "main"):
		if g.isTable(name) {
			return nil
		}
	case equalFoldASCII(schema, "information_schema"), equalFoldASCII(schema, "pg_catalog"):
	default:
		return forbid("schema %s: only qry.main can be read", schema)
	}
	// An unknown or metadata name: harmless when it cannot be a file
	// (DuckDB's replacement scans read only names with a dot or a slash).
	if !plainName(name) {
		return forbid("%q is not a catalog table", name)
	}
	return nil
}

// plainName reports whether s is an identifier of letters, digits and
// underscores: no file name, path, URL or glob.
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != '_' && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// expr checks an expression (or any other part of a node that is not a
// table reference): its subqueries are query nodes in the same scope.
func (g *gate) expr(v any, sc *scope) error {
	switch x := v.(type) {
	case map[string]any:
		// Expressions carry a class; a table reference or a query node
		// met anywhere else is checked as such.
		if name, _ := x["function_name"].(string); deniedFunctions[strings.ToLower(name)] {
			return forbid("function %s: settings are not for clients to read", name)
		}
		if _, isExpr := x["class"]; !isExpr {
			if typ, _ := x["type"].(string); isRefType(typ) {
				return g.ref(x, sc)
			} else if isNodeType(typ) {
				return g.node(x, sc)
			}
		}
		for k, c := range x {
			if k == "subquery" {
				sub, ok := c.(map[string]any)
				if !ok {
					return forbid("a subquery the sandbox cannot analyse")
				}
				if err := g.node(sub["node"], sc); err != nil {
					return err
				}
				continue
			}
			if err := g.expr(c, sc); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range x {
			if err := g.expr(c, sc); err != nil {
				return err
			}
		}
	}
	return nil
}

func isRefType(t string) bool {
	switch t {
	case "BASE_TABLE", "JOIN", "SUBQUERY", "TABLE_FUNCTION", "EMPTY", "EXPRESSION_LIST", "PIVOT", "SHOW_REF", "COLUMN_DATA", "DELIM_GET", "BOUND_TABLE_REF":
		return true
	}
	return false
}

func isNodeType(t string) bool {
	switch t {
	case "SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE", "BOUND_SUBQUERY_NODE", "STATEMENT_NODE":
		return true
	}
	return false
}
