// Package gdal reads the GIS formats DuckDB's spatial extension reads
// through GDAL (ST_Read): GeoPackage, Shapefile, FlatGeobuf, KML and GPX.
// A file is one table's file: its first layer, with the columns GDAL gives
// (a feature id, the attributes, the geometry as GEOMETRY with its CRS).
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
func (c *Connector) Inspect(ctx context.Context, db *sql.DB, path string, _ map[string]string) (connectors.FileInfo, error) {
	if !c.Spatial {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, ErrNoSpatial)
	}
	must, _ := sidecars(path)
	for _, s := range must {
		if _, err := os.Stat(s); errors.Is(err, os.ErrNotExist) {
			return connectors.FileInfo{}, fmt.Errorf("%s: a Shapefile needs its %s beside it", path, s[strings.LastIndex(s, "."):])
		}
	}
	expr := "ST_Read(" + connectors.QuoteString(path) + ")"
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

// Scan implements connectors.Connector: the files' first layers, united by
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
		parts = append(parts, "SELECT * FROM ST_Read("+connectors.QuoteString(paths[0])+")")
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
