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
// min/max/null count aggregated over row groups.
func (Connector) Inspect(ctx context.Context, db *sql.DB, path string, _ map[string]string) (connectors.FileInfo, error) {
	lit := connectors.QuoteString(path)
	cols, err := connectors.Describe(ctx, db, fmt.Sprintf("read_parquet(%s, hive_partitioning=false)", lit))
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	info := connectors.FileInfo{Columns: cols, Stats: map[string]connectors.ColumnStats{}}
	if err := db.QueryRowContext(ctx, "SELECT num_rows FROM parquet_file_metadata("+lit+")").Scan(&info.Rows); err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	// One row per statsable top-level column: min over row groups of the
	// typed min, max of the typed max, summed null counts; NULL where any
	// row group lacks the statistic.
	var parts []string
	for _, c := range cols {
		if !connectors.Statsable(c.Type) {
			continue
		}
		parts = append(parts, fmt.Sprintf(`SELECT %s AS name,
  CASE WHEN count(*) = count(stats_min_value) THEN min(TRY_CAST(stats_min_value AS %s))::VARCHAR END,
  CASE WHEN count(*) = count(stats_max_value) THEN max(TRY_CAST(stats_max_value AS %s))::VARCHAR END,
  CASE WHEN count(*) = count(stats_null_count) THEN sum(stats_null_count)::BIGINT ELSE -1 END
FROM parquet_metadata(%s) WHERE path_in_schema = %s`,
			connectors.QuoteString(c.Name), c.Type, c.Type, lit, connectors.QuoteString(c.Name)))
	}
	if len(parts) == 0 {
		return info, nil
	}
	rows, err := db.QueryContext(ctx, strings.Join(parts, "\nUNION ALL\n"))
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: statistics: %w", path, connectors.CleanError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var mn, mx sql.NullString
		var nulls sql.NullInt64
		if err := rows.Scan(&name, &mn, &mx, &nulls); err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: statistics: %w", path, connectors.CleanError(err))
		}
		st := connectors.ColumnStats{Min: mn.String, Max: mx.String, HasMinMax: mn.Valid && mx.Valid, NullCount: -1}
		if nulls.Valid {
			st.NullCount = nulls.Int64
		}
		if info.Rows == 0 {
			st.NullCount = 0
		}
		info.Stats[name] = st
	}
	if err := rows.Err(); err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: statistics: %w", path, connectors.CleanError(err))
	}
	return info, nil
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
