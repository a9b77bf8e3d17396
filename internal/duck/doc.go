// Package duck wraps the DuckDB C API (duckdb-go-bindings) for the packages
// that run SQL: engine (queries) and live (the write path). It owns the
// handles — a database, its connections, prepared statements, streaming
// results, appenders — and turns DuckDB's errors into fault's vocabulary.
//
// It knows nothing of catalogs, plans or sandboxes, and must not import any
// qry package but fault and sql. Its types never leave qry's internals:
// engine's and live's APIs speak Arrow.
//
// Build with -tags duckdb_arrow: DuckDB's Arrow conversion sits behind it.
package duck
