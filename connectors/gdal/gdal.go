// Package gdal reads the GIS formats DuckDB's spatial extension reads
// through GDAL (ST_Read): GeoPackage, Shapefile, FlatGeobuf, KML and GPX.
// A file is one table's file: its layer (the table option "layer", else
// its first), with the columns GDAL gives (a feature id, the attributes,
// the geometry as GEOMETRY with its CRS). A GeoPackage of several layers
// is a table per layer (see Layers).
// It needs the spatial extension in the catalog's database; without it a
// file is left out with a line saying how to get it.
package gdal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/fault"
)

// ErrNoSpatial is returned for a file the spatial extension would read.
var ErrNoSpatial = fault.New(fault.IO, "needs DuckDB's spatial extension in --extension-dir (qry extensions install spatial, or pip install duckdb-extension-spatial==1.5.5)")

// Connector is the GDAL connector. Spatial is set when the catalog's
// database has the spatial extension loaded.
type Connector struct{ Spatial bool }

var _ connectors.Connector = (*Connector)(nil)

// Format implements connectors.Connector.
func (*Connector) Format() string { return "gdal" }

// Extensions implements connectors.Connector.
func (*Connector) Extensions() []string { return []string{".gpkg", ".shp", ".fgb", ".kml", ".gpx"} }

// sidecars are the files a Shapefile is read with: .shx and .dbf must be
// there (GDAL reads a Shapefile without its .dbf as geometries with no
// attributes, silently), .prj and .cpg when they are.
func sidecars(path string) (must, may []string) {
	base, ok := strings.CutSuffix(path, ".shp")
	if !ok {
		return nil, nil
	}
	return []string{base + ".shx", base + ".dbf"}, []string{base + ".prj", base + ".cpg"}
}

// Inspect implements connectors.Connector: the schema GDAL gives, row
// count, column statistics, and the geometry column's bounding box.
func (c *Connector) Inspect(ctx context.Context, db *sql.DB, path string, opts map[string]string) (connectors.FileInfo, error) {
	if !c.Spatial {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, ErrNoSpatial)
	}
	must, _ := sidecars(path)
	for _, s := range must {
		if _, err := os.Stat(s); errors.Is(err, os.ErrNotExist) {
			return connectors.FileInfo{}, fmt.Errorf("%s: a Shapefile needs its %s beside it", path, s[strings.LastIndex(s, "."):])
		}
	}
	expr := read(path, opts)
	cols, err := connectors.Describe(ctx, db, expr)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	var plain []connectors.Column
	geom := ""
	for _, col := range cols {
		if strings.HasPrefix(col.Type, "GEOMETRY") {
			if geom == "" {
				geom = col.Name
			}
			continue
		}
		plain = append(plain, col)
	}
	n, stats, err := connectors.ColumnStatsSQL(ctx, db, expr, plain)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	info := connectors.FileInfo{Columns: cols, Rows: n, Stats: stats}
	if geom != "" && n > 0 {
		q := connectors.QuoteIdent(geom)
		var b connectors.BBox
		var minx sql.NullFloat64
		row := db.QueryRowContext(ctx, fmt.Sprintf("SELECT min(ST_XMin(%[1]s)), min(ST_YMin(%[1]s)), max(ST_XMax(%[1]s)), max(ST_YMax(%[1]s)) FROM %[2]s", q, expr))
		if err := row.Scan(&minx, &b.MinY, &b.MaxX, &b.MaxY); err == nil && minx.Valid {
			b.MinX = minx.Float64
			info.BBox, info.BBoxColumn = &b, geom
		}
	}
	return info, nil
}

// read is the ST_Read call of a file's layer.
func read(path string, opts map[string]string) string {
	if layer := opts["layer"]; layer != "" {
		return "ST_Read(" + connectors.QuoteString(path) + ", layer=" + connectors.QuoteString(layer) + ")"
	}
	return "ST_Read(" + connectors.QuoteString(path) + ")"
}

// Layers lists the layers of a GeoPackage (nil for other files), as GDAL
// reads them; a file with more than one is a table per layer.
func Layers(ctx context.Context, db *sql.DB, path string) ([]string, error) {
	if !strings.HasSuffix(strings.ToLower(path), ".gpkg") {
		return nil, nil
	}
	rows, err := db.QueryContext(ctx, "SELECT unnest(layers).name FROM ST_Read_Meta("+connectors.QuoteString(path)+")")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

// Scan implements connectors.Connector: the files' layers, united by
// name, as the table's columns and types.
func (c *Connector) Scan(spec connectors.ScanSpec) (string, error) {
	parts := make([]string, 0, len(spec.Files))
	for _, f := range spec.Files {
		// A Shapefile's sidecars are made readable beside it.
		must, may := sidecars(f)
		for _, s := range may {
			if _, err := os.Stat(s); err == nil {
				must = append(must, s)
			}
		}
		paths, err := spec.Paths(append([]string{f}, must...))
		if err != nil {
			return "", err
		}
		parts = append(parts, "SELECT * FROM "+read(paths[0], spec.Options))
	}
	present := map[string]bool{}
	for _, cols := range spec.FileColumns {
		for _, col := range cols {
			present[strings.ToLower(col.Name)] = true
		}
	}
	sel := make([]string, len(spec.Columns))
	for i, col := range spec.Columns {
		q := connectors.QuoteIdent(col.Name)
		if present[strings.ToLower(col.Name)] {
			sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", q, col.Type, q)
		} else {
			sel[i] = fmt.Sprintf("NULL::%s AS %s", col.Type, q) // in none of these files
		}
	}
	return fmt.Sprintf("(SELECT %s FROM (%s))", strings.Join(sel, ", "), strings.Join(parts, " UNION ALL BY NAME ")), nil
}
