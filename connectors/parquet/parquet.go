// Package parquet reads Parquet files: schema and statistics from the footer,
// scans through DuckDB's read_parquet.
package parquet

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/qry-dev/qry/connectors"
)

// Connector is the Parquet connector.
type Connector struct{}

var _ connectors.Connector = Connector{}

// Format implements connectors.Connector.
func (Connector) Format() string { return "parquet" }

// Extensions implements connectors.Connector.
func (Connector) Extensions() []string { return []string{".parquet", ".parq", ".pq"} }

// Inspect reads the file's footer only: schema, row count, and per-column
// min/max/null count aggregated over row groups (see footers).
func (Connector) Inspect(ctx context.Context, db *sql.DB, path string, _ map[string]string) (connectors.FileInfo, error) {
	cols, err := connectors.Describe(ctx, db, fmt.Sprintf("read_parquet(%s, hive_partitioning=false)", connectors.QuoteString(path)))
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	infos := []connectors.FileInfo{{Columns: cols}}
	if err := footers(ctx, db, []string{path}, infos); err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: statistics: %w", path, connectors.CleanError(err))
	}
	return infos[0], nil
}

// Scan reads the files with read_parquet, aligning differing file schemas by
// name and typing hive partition columns as the catalog decided.
func (Connector) Scan(spec connectors.ScanSpec) (string, error) {
	files, err := spec.Paths(spec.Files)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "read_parquet(%s, union_by_name=%t", connectors.FileList(files), !spec.Uniform)
	if len(spec.Partitions) > 0 {
		fmt.Fprintf(&b, ", hive_partitioning=true, hive_types=%s", connectors.StructLiteral(spec.Partitions))
	} else {
		b.WriteString(", hive_partitioning=false")
	}
	b.WriteByte(')')
	return b.String(), nil
}
