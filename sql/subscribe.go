package sql

import "strings"

// RowsOnly reports whether st is a subscription that can follow a table
// row by row: SELECT [list] FROM one base table [WHERE ...], where each
// output row comes from one input row, so that running it over new rows
// alone gives exactly the new rows of its result. Aggregates (aggregate
// tells which function names are), GROUP BY, HAVING, window functions,
// DISTINCT, ORDER BY, LIMIT, subqueries, joins, CTEs and sampling are not.
func RowsOnly(st *Statement, aggregate func(name string) bool) bool {
	n := st.Node
	if n["type"] != "SELECT_NODE" || !emptyList(n["modifiers"]) || !emptyList(n["group_expressions"]) ||
		!emptyList(n["group_sets"]) || n["having"] != nil || n["qualify"] != nil || n["sample"] != nil ||
		n["aggregate_handling"] != "STANDARD_HANDLING" {
		return false
	}
	if cm, ok := n["cte_map"].(map[string]any); ok && !emptyList(cm["map"]) {
		return false
	}
	ft, ok := n["from_table"].(map[string]any)
	if !ok || ft["type"] != "BASE_TABLE" || ft["sample"] != nil {
		return false
	}
	perRow := true
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			switch x["class"] {
			case "WINDOW", "SUBQUERY":
				perRow = false
			case "FUNCTION":
				if name, _ := x["function_name"].(string); aggregate(strings.ToLower(name)) {
					perRow = false
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
	walk(n["select_list"])
	walk(n["where_clause"])
	return perRow
}
