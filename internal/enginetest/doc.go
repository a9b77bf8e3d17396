// Package enginetest owns qry's query suite: the files under
// testdata/queries (format: testdata/queries/README.md), their parser, and
// the runner that sends every record of every file through each front end
// a client can use — the engine in-process, Flight SQL and HTTP, each over
// its real server on a loopback port — and checks that all three give the
// answer the file expects, with the same Arrow types, or fail with the
// same fault.Kind.
//
// A record is checked against values written in the file, or against
// DuckDB alone reading the same files through reference views
// (`matches duckdb`); what only qry knows (which files a query read,
// whether statistics answered it) is checked exactly from its EXPLAIN
// output (`plan`).
//
// The data sets come from internal/fixture. Front ends and their servers
// are started per file and front end, and closed when it is done: a
// checked Arrow allocator on Flight and HTTP must be back to zero.
package enginetest
