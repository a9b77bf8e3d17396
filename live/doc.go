// Package live is the write path: writable tables' live tier, their
// write-ahead logs (package live/wal), ticks that archive live rows as
// Parquet, compaction of small files, and the journal that finishes a tick
// or compaction a crash interrupted.
//
// A write (Append) is validated against the table's declared columns,
// inserted into an in-memory DuckDB table (LiveCatalog.main.<table>, with a
// hidden sequence number), appended to the log and fsynced, then committed:
// nothing acknowledged is lost, even on kill -9, as Open replays the log.
// Every tick copies the live rows up to a sequence number, writes them as
// Parquet under temporary names, journals the renames, and then, while no
// query is between planning and execution (BeginRead), renames them in,
// refreshes the catalog and the engine's views, and drops the archived
// rows.
//
// The archive is a local directory or a prefix on object storage (see
// archive); the log and journal are always on local disk.
//
// The engine sees the tier through a small surface: Select (the SQL of a
// table's live rows, for its view), Generation (for cached results), Append
// and Tick, and BeginRead around each query. live imports catalog,
// connectors (to quote names), storage and internal/duck; never engine, planner or
// the servers.
package live
