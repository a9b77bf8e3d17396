//go:build !duckdb_arrow

package duck

// qry needs DuckDB's Arrow interface: build and test with -tags duckdb_arrow
// (the Makefile and .ci/run set GOFLAGS=-tags=duckdb_arrow).
var _ = build_qry_with_tags_duckdb_arrow
