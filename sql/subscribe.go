package sql

import "strings"

// RowsOnly reports whether st is a subscription that can follow a table
// row by row: SELECT [list] FROM one base table [WHERE ...], where each
// output row comes from one input row, so that running it over new rows
// alone gives exactly the new rows of its result. Aggregates (aggregate
// tells which function names are), GROUP BY, HAVING, window functions,
// DISTINCT, ORDER BY, LIMIT, subqueries, joins, CTEs and sampling are not.
func RowsOnly(st *Statement, aggregate func(name string) bool) bool {
	return notPerRow(st, aggregate, false) == ""
}

// NotPerRow says why st is not a per-row filter or projection of base
// tables, joined or not (see RowsOnly), in a few words ("ORDER BY", "an
// aggregate"...), or "" when it is one. Then, for one table, running it
// over any split of the table's rows and putting the parts together gives
// its result; for joins, only when the split table is on a preserved side
// of every join and the others are read whole by every part (the planner
// decides: see planner.Partition).
func NotPerRow(st *Statement, aggregate func(name string) bool) string {
	return notPerRow(st, aggregate, true)
}

func notPerRow(st *Statement, aggregate func(name string) bool, joins bool) string {
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
	case ft["type"] == "JOIN" && !joins:
		return "a join"
	}
	if why := fromTree(ft); why != "" {
		return why
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
	joinConditions(ft, walk)
	return why
}

// fromTree says why a FROM clause is not base tables, joined or not.
func fromTree(t map[string]any) string {
	switch t["type"] {
	case "BASE_TABLE":
		if t["sample"] != nil {
			return "a sample"
		}
		return ""
	case "JOIN":
		for _, k := range []string{"left", "right"} {
			c, _ := t[k].(map[string]any)
			if why := fromTree(c); why != "" {
				return why
			}
		}
		return ""
	}
	return "a subquery or table function in FROM"
}

// joinConditions walks the conditions of a FROM tree's joins.
func joinConditions(t map[string]any, walk func(any)) {
	if t["type"] != "JOIN" {
		return
	}
	walk(t["condition"])
	for _, k := range []string{"left", "right"} {
		if c, ok := t[k].(map[string]any); ok {
			joinConditions(c, walk)
		}
	}
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
