// Package engine runs SQL over the catalog with an embedded DuckDB and
// streams results as Arrow record batches.
//
// A query's journey: Query takes a DuckDB connection from a bounded pool,
// registers with the live tier (live.Tier.BeginRead: no tick hands files
// over until execution starts), makes sure each catalog table is a view
// over the current snapshot's files (so SQL can name "trips"), reads the
// statement with DuckDB's own parser, has the sandbox's gate check what it
// reads, and hands it to the planner (package planner), which prunes files
// and rewrites references. A small result seen before comes from the result
// cache (package resultcache). Otherwise the statement is prepared (more
// than one statement is refused: DuckDB would run all but the last while
// preparing), its kind checked against what the gate analysed, parameters
// bound, and a streaming result started. Rows then fetches one DuckDB chunk
// per Next (or joins a few) and converts it to an Arrow record batch:
// nothing beyond the current batch is held, so a result of any size streams
// in bounded memory. Cancelling the context interrupts DuckDB wherever it
// is; Release returns the connection.
//
//	rows, err := eng.Query(ctx, "SELECT zone_id, count(*) FROM trips GROUP BY 1")
//	if err != nil { ... }           // a *fault.Error names the line and column
//	defer rows.Release()
//	for rows.Next() { use(rows.RecordBatch()) }
//	err = rows.Err()
//
// Writes (Exec, Append) go to the live tier (package live) and become
// visible to the next query.
//
// engine owns the pool, Query, Rows, binding, the views and the sandbox;
// planning, the write path and caching live in their own packages, and
// DuckDB's handles in internal/duck. Errors are fault errors: sentinels
// (ErrCanceled, ErrTimeout, ErrBusy, ...) or a *fault.Error carrying
// DuckDB's message on one line with its Kind.
//
// Build with -tags duckdb_arrow: DuckDB's Arrow conversion sits behind it.
package engine
