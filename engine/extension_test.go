package engine_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
)

func openWith(t *testing.T, opts engine.Options) (*engine.Engine, error) {
	t.Helper()
	cat, err := catalog.Open(context.Background(), catalog.Options{CacheDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { cat.Close() })
	e, err := engine.Open(context.Background(), cat, opts)
	if e != nil {
		t.Cleanup(func() { e.Close() })
	}
	return e, err
}

// Extensions load from the extension directory, in the layout of DuckDB's
// PyPI wheels; a missing one is named with how to get it.
func TestExtensions(t *testing.T) {
	dir := fixture.ExtensionDir(t)
	// The polygon's area is 2 x 3, its centroid (1, 1.5): checked by hand.
	q := "SELECT ST_Area(g), ST_X(ST_Centroid(g)), ST_Y(ST_Centroid(g)) FROM (SELECT ST_GeomFromText('POLYGON((0 0, 2 0, 2 3, 0 3, 0 0))') AS g)"
	for _, sandbox := range []bool{false, true} {
		e, err := openWith(t, engine.Options{ExtensionDir: dir, Extensions: []string{"spatial", "httpfs"}, Sandbox: sandbox})
		require.NoError(t, err)
		rows, err := e.Query(context.Background(), q)
		require.NoError(t, err)
		require.Equal(t, [][]string{{fixture.Float(6), fixture.Float(1), fixture.Float(1.5)}}, fixture.ArrowRows(t, rows))
		rows.Release()
	}

	// Spatial is loaded when found, without being asked for.
	e, err := openWith(t, engine.Options{ExtensionDir: dir})
	require.NoError(t, err)
	rows, err := e.Query(context.Background(), q)
	require.NoError(t, err)
	rows.Release()

	// Without it, ST_Area is unknown (DuckDB's built-ins lack it).
	empty := t.TempDir()
	e, err = openWith(t, engine.Options{ExtensionDir: empty})
	require.NoError(t, err)
	_, err = e.Query(context.Background(), q)
	require.Error(t, err)
	require.Equal(t, fault.Catalog, fault.KindOf(err), "%v", err)

	// An extension asked for and missing fails Open, naming it, where it
	// was looked for, and the wheel that has it.
	_, err = openWith(t, engine.Options{ExtensionDir: empty, Extensions: []string{"httpfs", "spatial"}})
	require.Error(t, err)
	for _, want := range []string{"httpfs", "spatial", empty, "pip install duckdb-extension-httpfs==1.5.5", "qry extensions install httpfs"} {
		require.Contains(t, err.Error(), want)
	}
}

// Without the spatial extension, an ST_ function the built-ins lack fails
// with one line that says how qry gets it, not DuckDB's INSTALL advice
// (which the sandbox refuses).
func TestSpatialMissingSaysHow(t *testing.T) {
	e := openEngine(t, fixture.Sample(), engine.Options{Sandbox: true, ExtensionDir: t.TempDir()})
	_, err := e.Query(context.Background(), "SELECT ST_Area(geometry) FROM zones")
	require.Error(t, err)
	require.Equal(t, fault.Catalog, fault.KindOf(err))
	msg := err.Error()
	require.NotContains(t, msg, "\n")
	require.NotContains(t, msg, "INSTALL spatial")
	require.Contains(t, msg, `"st_area"`)
	require.Contains(t, msg, "put it in --extension-dir (qry extensions install spatial, or pip install duckdb-extension-spatial==1.5.5)")
	// The built-in ones work.
	got, _ := answer(t, e, "SELECT count(*) FROM zones WHERE ST_AsText(geometry) LIKE 'POLYGON%'")
	require.NotEmpty(t, got)
}
