package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/internal/fixture"
)

// Under the gate, DuckDB itself may read objects under the data root's
// prefix only: another prefix of the same bucket, which the same
// credentials could read, is refused by DuckDB.
func TestServedObjectStorage(t *testing.T) {
	srv := fixture.S3(t)
	srv.SetEnv(t)
	srv.Upload(t, "lake", "sample/", fixture.Sample())
	srv.Upload(t, "lake", "private/", fixture.Sample())
	ext := fixture.ExtensionDir(t)
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{"s3://lake/sample/"}, CacheDir: t.TempDir(), ExtensionDir: ext})
	require.NoError(t, err)
	defer cat.Close()
	e, err := Open(context.Background(), cat, Options{Sandbox: true, SandboxDir: t.TempDir(), ExtensionDir: ext})
	require.NoError(t, err)
	defer e.Close()

	read := func(url string) ([][]string, error) {
		c, err := e.acquire(context.Background())
		require.NoError(t, err)
		defer e.release(c)
		rows, err := c.ReadAll(context.Background(), "SELECT count(*)::VARCHAR FROM read_csv('"+url+"')")
		if err != nil {
			return nil, err
		}
		defer duck.Release(rows)
		var out [][]string
		for _, r := range rows {
			out = append(out, []string{strings.Clone(r.Column(0).ValueStr(0))})
		}
		return out, nil
	}
	want := fixture.Rows(t, fixture.DB(t), "SELECT count(*)::VARCHAR FROM read_csv('"+filepath.Join(fixture.Sample(), "weather.csv")+"')")
	got, err := read("s3://lake/sample/weather.csv")
	require.NoError(t, err)
	require.Equal(t, want, got)
	_, err = read("s3://lake/private/weather.csv")
	require.Error(t, err)
	require.Equal(t, fault.Forbidden, fault.KindOf(err), "DuckDB refuses it: %v", err)
	require.Contains(t, err.Error(), "s3://lake/private/weather.csv")
	require.NotContains(t, err.Error(), srv.Secret)
}
