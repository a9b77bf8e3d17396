package engine_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/internal/fixture"
)

// Spatial predicates against a constant geometry prune GeoJSON files, and
// GeoParquet files whose metadata gives a bounding box, by their boxes,
// and answer as DuckDB with the spatial extension does over the same
// geometries held in a table of its own.
func TestSpatialPredicatesPrune(t *testing.T) {
	ext := fixture.ExtensionDir(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "places")
	require.NoError(t, os.MkdirAll(root, 0o755))
	// 16 files, one per 10x10 cell (i, j) of a 4x4 grid; each holds points
	// and unit squares whose box is x 10i+1..10i+7.8, y 10j+2..10j+7.2, and
	// ids (4i+j)*10 + 0..4. The files read below are counted from these.
	var values []string
	cells := map[string][]string{} // GeoParquet file -> its rows
	for i := range 4 {
		for j := range 4 {
			var feats []string
			cell := fmt.Sprintf("cell-%d-%d", i, j)
			for k := range 5 {
				id := (i*4+j)*10 + k
				x, y := float64(i*10)+1+float64(k)*1.7, float64(j*10)+2+float64(k)*1.3
				var wkt, geom string
				if k%2 == 0 {
					wkt = fmt.Sprintf("POINT(%g %g)", x, y)
					geom = fmt.Sprintf(`{"type":"Point","coordinates":[%g,%g]}`, x, y)
				} else {
					wkt = fmt.Sprintf("POLYGON((%g %g, %g %g, %g %g, %g %g, %g %g))", x, y, x+1, y, x+1, y+1, x, y+1, x, y)
					geom = fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}`, x, y, x+1, y, x+1, y+1, x, y+1, x, y)
				}
				feats = append(feats, fmt.Sprintf(`{"type":"Feature","properties":{"id":%d},"geometry":%s}`, id, geom))
				values = append(values, fmt.Sprintf("(%d, '%s')", id, wkt))
				cells[cell] = append(cells[cell], fmt.Sprintf("(%d, '%s')", id, wkt))
			}
			fixture.Write(t, filepath.Join(root, fmt.Sprintf("cell-%d-%d.geojson", i, j)),
				`{"type":"FeatureCollection","features":[`+strings.Join(feats, ",")+"]}")
		}
	}
	ref := spatialRef(t, ext)
	fixture.Exec(t, ref,
		"CREATE TABLE places AS SELECT id::BIGINT AS id, ST_GeomFromText(wkt) AS geometry FROM (VALUES "+strings.Join(values, ", ")+") v(id, wkt)")
	// The same rows as GeoParquet, a file a cell (DuckDB writes the "geo"
	// key with each file's bounding box).
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "geoplaces"), 0o755))
	// And as Parquet's own GEOMETRY type, without GeoParquet's "geo" key:
	// the column statistics hold the boxes.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "nativeplaces"), 0o755))
	for cell, rows := range cells {
		sel := "SELECT id::BIGINT AS id, ST_GeomFromText(wkt) AS geometry FROM (VALUES " + strings.Join(rows, ", ") + ") v(id, wkt)"
		fixture.Exec(t, ref, "COPY ("+sel+") TO '"+filepath.Join(dir, "geoplaces", cell+".parquet")+"' (FORMAT parquet)")
		fixture.Exec(t, ref, "COPY ("+sel+") TO '"+filepath.Join(dir, "nativeplaces", cell+".parquet")+"' (FORMAT parquet, GEOPARQUET_VERSION 'NONE')")
	}

	e := openEngine(t, dir, engine.Options{Sandbox: true, ExtensionDir: ext})
	for _, tc := range []struct {
		sql  string
		read int // files left after pruning
	}{
		{"SELECT id FROM places WHERE ST_Intersects(geometry, ST_GeomFromText('POLYGON((0 0, 9 0, 9 9, 0 9, 0 0))')) ORDER BY id", 1},
		{"SELECT id FROM places WHERE ST_Intersects(ST_MakeEnvelope(12, 12, 28, 18), geometry) ORDER BY id", 2},
		{"SELECT id FROM places WHERE ST_Contains(ST_MakeEnvelope(0, 0, 40, 15), geometry) ORDER BY id", 8},
		{"SELECT id FROM places WHERE ST_Within(geometry, ST_MakeEnvelope(21, 31, 39, 39)) ORDER BY id", 2},
		{"SELECT id FROM places WHERE ST_DWithin(geometry, ST_Point(15, 15), 3) ORDER BY id", 1},
		{"SELECT id FROM places WHERE ST_DWithin(ST_Point(20, 20), geometry, 5) ORDER BY id", 4},
		{"SELECT count(*) FROM places WHERE geometry && ST_GeomFromText('POINT(31.5 12.5)')", 1},
		{"SELECT id FROM places WHERE ST_Intersects(geometry, ST_Point(100, 100)) OR id = 13 ORDER BY id", 1},
		{"SELECT id FROM places WHERE NOT ST_Intersects(geometry, ST_MakeEnvelope(0, 0, 9, 9)) AND id < 30 ORDER BY id", 3},
	} {
		want := fixture.Rows(t, ref, tc.sql)
		for _, table := range []string{"places", "geoplaces", "nativeplaces"} {
			q := strings.Replace(tc.sql, "FROM places", "FROM "+table, 1)
			got, plan := answer(t, e, q)
			require.Equal(t, want, got, q)
			require.Contains(t, plan, fmt.Sprintf("%s: 16 files, %d read, %d pruned", table, tc.read, 16-tc.read), q)
		}
	}
}

// spatialRef is DuckDB, independent of qry, with the spatial extension
// from ext loaded.
func spatialRef(t *testing.T, ext string) *sql.DB {
	t.Helper()
	db := fixture.DB(t)
	spatial, err := duck.FindExtension(ext, "spatial")
	require.NoError(t, err)
	fixture.Exec(t, db, "LOAD '"+spatial+"'")
	return db
}
