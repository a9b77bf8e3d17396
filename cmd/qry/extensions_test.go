package main_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/internal/fixture"
)

// qry extensions lists what --extension-dir holds; a query over a GeoJSON
// table uses the spatial extension's functions once it is there.
func TestExtensionsCommand(t *testing.T) {
	dir := fixture.ExtensionDir(t)
	r := run(t, "", "extensions", "--extension-dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		f := strings.Fields(l)
		lines[f[0]] = f[1] + " " + f[2]
	}
	require.Equal(t, "found "+filepath.Join(dir, "duckdb_extension_spatial", "extensions", "v1.5.5", "spatial.duckdb_extension"), lines["spatial"])
	require.Equal(t, "found "+filepath.Join(dir, "duckdb_extension_httpfs", "extensions", "v1.5.5", "httpfs.duckdb_extension"), lines["httpfs"])

	empty := t.TempDir()
	r = run(t, "", "extensions", "--extension-dir", empty)
	require.Contains(t, r.stdout, "spatial    missing  "+empty)

	// The sample's zones are polygons: their areas, by the extension and
	// by DuckDB reading the same GeoJSON with the extension, agree.
	q := "SELECT zone_id, round(ST_Area(geometry), 9) AS a FROM zones ORDER BY zone_id"
	r = run(t, "", "query", "--extension-dir", dir, "-d", sampleDir(t), "-F", "csv", q)
	require.Equal(t, 0, r.code, r.stderr)
	db := fixture.DB(t)
	fixture.Exec(t, db, "LOAD '"+filepath.Join(dir, "duckdb_extension_spatial", "extensions", "v1.5.5", "spatial.duckdb_extension")+"'")
	want := fixture.Rows(t, db, "SELECT zone_id::VARCHAR || ',' || round(ST_Area(geom), 9)::VARCHAR FROM ST_Read('"+filepath.Join(sampleDir(t), "zones.geojson")+"') ORDER BY zone_id")
	got := strings.Split(strings.TrimSpace(r.stdout), "\n")[1:]
	require.Len(t, got, len(want))
	for i, w := range want {
		require.Equal(t, w[0], got[i])
	}

	// Without it: one line that names the function.
	r = run(t, "", "query", "--extension-dir", empty, "-d", sampleDir(t), q)
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "st_area")
	require.Contains(t, r.stderr, "spatial extension")
}
