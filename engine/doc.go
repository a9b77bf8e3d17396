// Package engine runs SQL over the catalog with an embedded DuckDB and
// streams results as Arrow record batches.
//
// A query's journey: Query takes a DuckDB connection from a bounded pool,
// makes sure each catalog table is a view over the current snapshot's files
// (so SQL can name "trips"), splits the input with DuckDB's own parser and
// refuses more than one statement (DuckDB would run all but the last while
// preparing), prepares and binds parameters, and starts a streaming pending
// result. Rows then fetches one DuckDB chunk per Next and converts it to an
// Arrow record batch: nothing beyond the current batch is held, so a result
// of any size streams in bounded memory. Cancelling the context interrupts
// DuckDB wherever it is; Release returns the connection.
//
//	rows, err := eng.Query(ctx, "SELECT zone_id, count(*) FROM trips GROUP BY 1")
//	if err != nil { ... }           // *QueryError names the line and column
//	defer rows.Release()
//	for rows.Next() { use(rows.RecordBatch()) }
//	err = rows.Err()
//
// Errors are sentinels (ErrCanceled, ErrTimeout, ErrMultipleStatements, ...)
// or a *QueryError carrying DuckDB's message on one line with its Kind.
//
// Build with -tags duckdb_arrow: DuckDB's Arrow conversion sits behind it.
package engine
