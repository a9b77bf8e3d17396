// Package connectors holds what every file format shares: the column and
// statistics types the catalog records per file, the ScanSpec a table hands
// to its format, and the Connector interface each format package
// (parquet, csv, geojson) implements.
//
// A connector does three things: it names its file extensions, it inspects
// one file (schema, row count, per-column min/max/null count, bbox), and it
// turns a list of files into a DuckDB table expression that reads them with
// the table's unified schema.
package connectors
