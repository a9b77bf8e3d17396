package sql

import (
	"errors"
	"fmt"
	"strings"
)

// ErrForbidden is wrapped by CheckSources's errors.
var ErrForbidden = errors.New("not allowed")

// allowedFunctions are the table functions a sandboxed statement may call:
// they generate rows and read no file.
var allowedFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true, "json_each": true, "json_tree": true,
}

// CheckSources reports whether a statement reads only catalog tables (and
// its own CTEs, information_schema, pg_catalog, and table functions that
// read no file). isTable tells catalog tables by name. This is the sandbox's
// statement gate: DuckDB's own access control is the second line.
func CheckSources(st *Statement, isTable func(name string) bool) error {
	ctes := map[string]bool{}
	collectCTEs(st.Node, ctes)
	var err error
	var walk func(v any)
	walk = func(v any) {
		if err != nil {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			switch x["type"] {
			case "TABLE_FUNCTION":
				fn, _ := x["function"].(map[string]any)
				name, _ := fn["function_name"].(string)
				if !allowedFunctions[strings.ToLower(name)] {
					err = fmt.Errorf("%w: table function %s: only catalog tables can be read", ErrForbidden, name)
					return
				}
			case "BASE_TABLE":
				name, _ := x["table_name"].(string)
				schema, _ := x["schema_name"].(string)
				catalog, _ := x["catalog_name"].(string)
				switch {
				case strings.EqualFold(schema, "information_schema") || strings.EqualFold(schema, "pg_catalog"):
				case catalog != "" && !strings.EqualFold(catalog, "qry"):
					err = fmt.Errorf("%w: catalog %s: only catalog qry can be read", ErrForbidden, catalog)
				case schema != "" && !strings.EqualFold(schema, "main"):
					err = fmt.Errorf("%w: schema %s: only qry.main can be read", ErrForbidden, schema)
				case ctes[strings.ToLower(name)] || isTable(name):
				case !strings.ContainsAny(name, "./\\:*?"):
					// A plain unknown name: DuckDB says it does not exist
					// (with a suggestion); only names that look like files
					// would reach its file readers.
				default:
					err = fmt.Errorf("%w: %q is a file, not a catalog table", ErrForbidden, name)
				}
				if err != nil {
					return
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(st.Node)
	return err
}
