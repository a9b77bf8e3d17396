package sql

import "strings"

// RowsOnly reports whether st is a subscription that can follow a table
// row by row: SELECT [list] FROM one base table [WHERE ...], where each
// output row comes from one input row, so that running it over new rows
// alone gives exactly the new rows of its result. Aggregates (aggregate
// tells which function names are), GROUP BY, HAVING, window functions,
// DISTINCT, ORDER BY, LIMIT, subqueries, joins, CTEs and sampling are not.
func RowsOnly(st *Statement, aggregate func(name string) bool) bool {
	return NotPerRow(st, aggregate) == ""
}

// NotPerRow says why st is not a per-row filter or projection of one base
// table (see RowsOnly), in a few words ("ORDER BY", "an aggregate", "a
// join"...), or "" when it is one: then running it over any split of the
// table's rows and putting the parts together gives its result.
func NotPerRow(st *Statement, aggregate func(name string) bool) string {
	n := st.Node
	if n["type"] != "SELECT_NODE" {
		return "a set operation"
	}
	if mods, ok := n["modifiers"].([]any); ok {
		for _, m := range mods {
			switch t, _ := m.(map[string]any)["type"].(string); t {
			case "ORDER_MODIFIER":
				return "ORDER BY"
			case "DISTINCT_MODIFIER":
				return "DISTINCT"
			default:
				return "LIMIT"
			}
		}
	}
	switch {
	case !emptyList(n["group_expressions"]) || !emptyList(n["group_sets"]) || n["having"] != nil:
		return "GROUP BY"
	case n["qualify"] != nil:
		return "QUALIFY"
	case n["sample"] != nil:
		return "a sample"
	case n["aggregate_handling"] != "STANDARD_HANDLING":
		return "GROUP BY ALL"
	}
	if cm, ok := n["cte_map"].(map[string]any); ok && !emptyList(cm["map"]) {
		return "a WITH clause"
	}
	ft, ok := n["from_table"].(map[string]any)
	switch {
	case !ok || ft["type"] == "EMPTY_FROM":
		return "no table"
	case ft["type"] == "JOIN":
		return "a join"
	case ft["type"] != "BASE_TABLE":
		return "a subquery or table function in FROM"
	case ft["sample"] != nil:
		return "a sample"
	}
	why := ""
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			switch x["class"] {
			case "WINDOW":
				why = "a window function"
			case "SUBQUERY":
				why = "a subquery"
			case "FUNCTION":
				if name, _ := x["function_name"].(string); aggregate(strings.ToLower(name)) {
					why = "an aggregate"
				}
			}
			for _, c := range x {
				if why == "" {
					walk(c)
				}
			}
		case []any:
			for _, c := range x {
				if why == "" {
					walk(c)
				}
			}
		}
	}
	walk(n["select_list"])
	walk(n["where_clause"])
	return why
}

// Ordered reports whether st's result comes in a defined order (an ORDER
// BY on its outermost query).
func Ordered(st *Statement) bool {
	mods, _ := st.Node["modifiers"].([]any)
	for _, m := range mods {
		if t, _ := m.(map[string]any)["type"].(string); t == "ORDER_MODIFIER" {
			return true
		}
	}
	return false
}
