// Package planner decides what a query must read. It is pure: a catalog
// snapshot and a statement parsed by DuckDB's parser (package sql) go in, a
// Plan comes out; it holds no connection and runs nothing, so its rules are
// table-tested without DuckDB.
//
// For each reference to a catalog table, the reference's predicates (from
// sql.Analyze) are checked against every file's partition values and
// statistics; a file that cannot hold a matching row is pruned, and the
// reference is rewritten, at the span DuckDB's parser reports, into a scan
// of the kept files. An aggregate that statistics answer exactly (count(*),
// min, max over files whose every row the WHERE clause keeps) gets a
// StatsAnswer, which the engine completes with the column names DuckDB
// gives the statement.
//
//	p, err := planner.New(text, "", stmt, planner.Env{Snapshot: snap, Queryable: viewed, Scan: scan, Live: isLive})
//	// p.SQL is what DuckDB runs; p.Tables says what was pruned, and why not.
//
// Pruning is conservative: whatever it is unsure of may match, so a weak
// statistic costs speed, never correctness.
//
// planner imports catalog, connectors (to quote names) and sql; never
// engine, live or DuckDB's bindings.
package planner
