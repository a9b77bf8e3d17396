// Package json reads JSON files as tables: an array of objects, one object
// per line (NDJSON, JSON Lines), or a single object, gzip- or
// zstd-compressed too, through DuckDB's read_json with its own detection.
// Like CSV, the schema is detected once per file, statistics are computed
// once at indexing, and each file is read with its own columns, typed as
// the table's.
package json

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/qry-dev/qry/connectors"
)

// Connector is the JSON connector.
type Connector struct{}

var _ connectors.Connector = Connector{}

// Format implements connectors.Connector.
func (Connector) Format() string { return "json" }

// Extensions implements connectors.Connector. GeoJSON keeps its own
// reader (.geojson, .geojson.ndjson: the longer ending wins).
func (Connector) Extensions() []string {
	var out []string
	for _, e := range []string{".json", ".ndjson", ".jsonl"} {
		out = append(out, e, e+".gz", e+".zst")
	}
	return out
}

// Inspect detects the file's columns with read_json, then reads it once
// with them to count rows and compute min/max/null counts. A file DuckDB
// cannot read fails here with DuckDB's reason.
func (Connector) Inspect(ctx context.Context, db *sql.DB, path string, opts map[string]string) (connectors.FileInfo, error) {
	if len(opts) > 0 {
		for k := range opts {
			return connectors.FileInfo{}, fmt.Errorf("%s: json option %q is not known (JSON takes none: DuckDB detects the layout)", path, k)
		}
	}
	cols, err := connectors.Describe(ctx, db, "read_json("+connectors.QuoteString(path)+")")
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	n, stats, err := connectors.ColumnStatsSQL(ctx, db, readExpr([]string{path}, nil, cols, ""), cols)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	return connectors.FileInfo{Columns: cols, Rows: n, Stats: stats}, nil
}

// readExpr is a read_json call over files of one column list.
func readExpr(files []string, _ map[string]string, cols []connectors.Column, hive string) string {
	if hive == "" {
		hive = ", hive_partitioning=false"
	}
	return fmt.Sprintf("read_json(%s, columns=%s%s)", connectors.FileList(files), connectors.StructLiteral(cols), hive)
}

// Scan reads the files with read_json, each with its own columns, typed as
// the table's (see connectors.GroupedScan).
func (Connector) Scan(spec connectors.ScanSpec) (string, error) {
	return connectors.GroupedScan(spec, readExpr)
}
