// Package sql understands just enough of a statement to prune files: the
// second step of a query's journey, between the caller and the catalog.
//
// Parse runs DuckDB's own parser (json_serialize_sql), so there is one
// dialect and no second grammar. Analyze walks the parsed tree and reports
// every reference to a base table, with the text span it occupies in the SQL
// and the predicate its WHERE clause puts on it: comparisons with literals,
// IN, BETWEEN, IS [NOT] NULL, LIKE 'prefix%', extent tests (&&) against
// geometry literals, combined with AND and OR. Rewrite replaces spans of the
// SQL text, which is how the engine swaps a table for a scan of the files
// that can match.
//
//	SELECT count(*) FROM trips WHERE year = 2024 AND fare > 40
//
// gives one Ref{Table: "trips", Span: "trips"} whose Pred is
// AND(year = 2024, fare > 40). Anything the analyzer does not understand
// (a parameter, a function of a column, a NOT) becomes Unknown, which never
// prunes: a weak analysis costs speed, never correctness. The package does
// no I/O of its own besides the parser.
package sql
