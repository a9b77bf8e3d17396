// Package parquet reads Parquet files: schema and statistics from the footer,
// scans through DuckDB's read_parquet.
package parquet

import (
	"context"
	"database/sql"
	"encoding/json"
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
	for _, c := range cols {
		if strings.HasPrefix(c.Type, "GEOMETRY") {
			infos[0].BBox, infos[0].BBoxColumn = geoBBox(ctx, db, path)
			if infos[0].BBox == nil {
				// Parquet's own GEOMETRY type: its statistics.
				if b := nativeBBox(ctx, db, path, c.Name); b != nil {
					infos[0].BBox, infos[0].BBoxColumn = b, c.Name
				}
			}
			break
		}
	}
	return infos[0], nil
}

// geoBBox is the bounding box GeoParquet metadata (the "geo" key) gives
// for the file's primary geometry column, if it gives one.
func geoBBox(ctx context.Context, db *sql.DB, path string) (*connectors.BBox, string) {
	var raw []byte
	err := db.QueryRowContext(ctx, "SELECT value FROM parquet_kv_metadata("+connectors.QuoteString(path)+") WHERE key = 'geo'").Scan(&raw)
	if err != nil {
		return nil, ""
	}
	var geo struct {
		PrimaryColumn string `json:"primary_column"`
		Columns       map[string]struct {
			BBox     []float64 `json:"bbox"`
			Covering struct {
				BBox map[string][]string `json:"bbox"`
			} `json:"covering"`
		} `json:"columns"`
	}
	if json.Unmarshal(raw, &geo) != nil {
		return nil, ""
	}
	col := geo.Columns[geo.PrimaryColumn]
	b := col.BBox
	switch len(b) {
	case 4: // minx, miny, maxx, maxy
		return &connectors.BBox{MinX: b[0], MinY: b[1], MaxX: b[2], MaxY: b[3]}, geo.PrimaryColumn
	case 6: // with z: minx, miny, minz, maxx, maxy, maxz
		return &connectors.BBox{MinX: b[0], MinY: b[1], MaxX: b[3], MaxY: b[4]}, geo.PrimaryColumn
	}
	if box := coveringBBox(ctx, db, path, col.Covering.BBox); box != nil {
		return box, geo.PrimaryColumn
	}
	return nil, ""
}

// nativeBBox is the bounding box of a column of Parquet's GEOMETRY
// logical type from its geospatial statistics (parquet_metadata's
// geo_bbox), over the row groups; nil when a row group has none.
func nativeBBox(ctx context.Context, db *sql.DB, path, col string) *connectors.BBox {
	var minx, miny, maxx, maxy sql.NullFloat64
	var all sql.NullBool
	err := db.QueryRowContext(ctx, `SELECT min(geo_bbox.xmin), min(geo_bbox.ymin), max(geo_bbox.xmax), max(geo_bbox.ymax),
		bool_and(geo_bbox.xmin IS NOT NULL AND geo_bbox.ymin IS NOT NULL AND geo_bbox.xmax IS NOT NULL AND geo_bbox.ymax IS NOT NULL)
		FROM parquet_metadata(`+connectors.QuoteString(path)+`) WHERE path_in_schema = `+connectors.QuoteString(col)).
		Scan(&minx, &miny, &maxx, &maxy, &all)
	if err != nil || !minx.Valid || !miny.Valid || !maxx.Valid || !maxy.Valid || !all.Bool {
		return nil
	}
	return &connectors.BBox{MinX: minx.Float64, MinY: miny.Float64, MaxX: maxx.Float64, MaxY: maxy.Float64}
}

// coveringBBox is the file's bounding box from the statistics of its bbox
// covering columns (GeoParquet 1.1: "covering": {"bbox": {"xmin": ["bbox",
// "xmin"], ...}}), for files whose metadata gives no bbox: the least xmin
// and ymin and the greatest xmax and ymax over the row groups. nil when a
// statistic is missing.
func coveringBBox(ctx context.Context, db *sql.DB, path string, cover map[string][]string) *connectors.BBox {
	paths := map[string]string{}
	for _, k := range []string{"xmin", "ymin", "xmax", "ymax"} {
		p := cover[k]
		if len(p) == 0 {
			return nil
		}
		paths[k] = strings.Join(p, ", ") // parquet_metadata's path_in_schema
	}
	q := fmt.Sprintf(`SELECT min(CASE WHEN path_in_schema = %s THEN stats_min_value::DOUBLE END),
		min(CASE WHEN path_in_schema = %s THEN stats_min_value::DOUBLE END),
		max(CASE WHEN path_in_schema = %s THEN stats_max_value::DOUBLE END),
		max(CASE WHEN path_in_schema = %s THEN stats_max_value::DOUBLE END),
		bool_and(stats_min_value IS NOT NULL AND stats_max_value IS NOT NULL)
		FROM parquet_metadata(%s) WHERE path_in_schema IN (%[1]s, %[2]s, %[3]s, %[4]s)`,
		connectors.QuoteString(paths["xmin"]), connectors.QuoteString(paths["ymin"]),
		connectors.QuoteString(paths["xmax"]), connectors.QuoteString(paths["ymax"]), connectors.QuoteString(path))
	var minx, miny, maxx, maxy sql.NullFloat64
	var all sql.NullBool
	if err := db.QueryRowContext(ctx, q).Scan(&minx, &miny, &maxx, &maxy, &all); err != nil ||
		!minx.Valid || !miny.Valid || !maxx.Valid || !maxy.Valid || !all.Bool {
		return nil
	}
	return &connectors.BBox{MinX: minx.Float64, MinY: miny.Float64, MaxX: maxx.Float64, MaxY: maxy.Float64}
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
	if spec.RowNumbers {
		b.WriteString(", file_row_number=true")
	}
	b.WriteByte(')')
	return b.String(), nil
}
