package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// GeoPackage, FlatGeobuf and Shapefile files (written by DuckDB's spatial
// extension through GDAL) are tables that answer as ST_Read reads them;
// a directory of FlatGeobuf files is pruned by their bounding boxes; a
// corrupt file and a Shapefile without its .dbf are left out, each with
// one line naming it.
func TestGDALFormats(t *testing.T) {
	ext := fixture.ExtensionDir(t)
	dir := t.TempDir()
	ref := spatialRef(t, ext)
	fixture.Exec(t, ref,
		"CREATE TABLE src AS SELECT i::INTEGER AS id, 'n' || i AS name, ST_Point(i % 10, i // 10) AS geom FROM range(40) r(i)")
	write := func(path, driver, where string) {
		fixture.Exec(t, ref, fmt.Sprintf("COPY (SELECT * FROM src WHERE %s) TO '%s' WITH (FORMAT GDAL, DRIVER '%s')", where, path, driver))
	}
	write(filepath.Join(dir, "pkg.gpkg"), "GPKG", "true")
	write(filepath.Join(dir, "flat.fgb"), "FlatGeobuf", "true")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "shape"), 0o755))
	write(filepath.Join(dir, "shape", "s.shp"), "ESRI Shapefile", "true")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "rows"), 0o755))
	for k := range 4 { // rows y = 0..9 in four files by y band
		write(filepath.Join(dir, "rows", fmt.Sprintf("band-%d.fgb", k)), "FlatGeobuf", fmt.Sprintf("id // 10 = %d", k))
	}
	// Bad ones, in tables of their own.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "broken"), 0o755))
	fixture.Write(t, filepath.Join(dir, "broken", "x.gpkg"), strings.Repeat("not a geopackage ", 100))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "nodbf"), 0o755))
	write(filepath.Join(dir, "nodbf", "n.shp"), "ESRI Shapefile", "true")
	require.NoError(t, os.Remove(filepath.Join(dir, "nodbf", "n.dbf")))

	e := openOn(t, dir, t.TempDir(), engine.Options{Sandbox: true, ExtensionDir: ext})
	snap := e.Catalog().Snapshot()
	for _, name := range []string{"broken", "nodbf"} {
		_, ok := snap.Table(name)
		require.False(t, ok, "%s has no readable file", name)
	}
	var problems []string
	for _, p := range snap.Problems {
		problems = append(problems, p.Err.Error())
	}
	joined := strings.Join(problems, "\n")
	require.Contains(t, joined, filepath.Join(dir, "broken", "x.gpkg"))
	require.Contains(t, joined, filepath.Join(dir, "nodbf", "n.shp")+": a Shapefile needs its .dbf beside it")

	for table, read := range map[string]string{
		"pkg":   "ST_Read('" + filepath.Join(dir, "pkg.gpkg") + "')",
		"flat":  "ST_Read('" + filepath.Join(dir, "flat.fgb") + "')",
		"shape": "ST_Read('" + filepath.Join(dir, "shape", "s.shp") + "')",
	} {
		q := "SELECT id, name, ST_AsText(geom) FROM %s WHERE id %% 3 = 0 ORDER BY id"
		got, _ := answer(t, e, fmt.Sprintf(q, table))
		require.Equal(t, fixture.Rows(t, ref, fmt.Sprintf(q, read)), got, table)
		require.Len(t, got, 14, table)
	}
	q := "SELECT count(*), sum(id) FROM rows WHERE ST_Intersects(geom, ST_MakeEnvelope(0, 1.5, 9, 2.5))"
	got, plan := answer(t, e, q)
	require.Equal(t, fixture.Rows(t, ref, "SELECT count(*), sum(id) FROM src WHERE ST_Intersects(geom, ST_MakeEnvelope(0, 1.5, 9, 2.5))"), got)
	require.Contains(t, plan, "rows: 4 files, 1 read, 3 pruned")
}
