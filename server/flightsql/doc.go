// Package flightsql serves the engine over Arrow Flight SQL, the protocol
// that ADBC (Python, Go, R), the Flight SQL JDBC driver and BI tools speak,
// and over plain Arrow Flight, where the descriptor command or ticket is SQL
// text (what a bare pyarrow.flight client sends).
//
// A statement's journey: GetFlightInfo prepares the SQL (so syntax and
// binder errors surface at once), stores it under a random handle, and
// returns a ticket and the result schema; DoGet runs the statement and
// streams DuckDB's chunks as record batches while the client reads, checking
// the stream's context between batches: a client that hangs up cancels its
// DuckDB query. Tickets stay valid until they expire (TicketTTL) or are
// cancelled with CancelFlightInfo, so a client may redeem one later or more
// than once.
//
// Prepared statements keep their SQL and bound parameters; metadata calls
// (catalogs, schemas, tables with their Arrow schemas, table types, SqlInfo)
// answer from the catalog with the Flight SQL reference schemas.
package flightsql
