//go:build duckdb_arrow

package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/internal/duck"
)

// Defence in depth: even a statement the gate never saw (run here on a
// connection directly) cannot make a sandboxed DuckDB open a file the
// catalog does not serve; the files it serves stay readable as the catalog
// changes.
func TestServedConfinesDuckDB(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	table := write("t/a.csv", "x,y\n1,one\n2,two\n")
	secrets := []string{
		write("_private/secret.csv", "x,y\n7,SECRET\n"),
		write(".hidden/secret.csv", "x,y\n7,SECRET\n"),
		write("t/_staging/secret.csv", "x,y\n7,SECRET\n"),
		write("t/.secret.csv", "x,y\n7,SECRET\n"),
		write("t/notes.txt", "x,y\n7,SECRET\n"),
		write("_qry_wal/journal.json", `{"SECRET": 1}`),
	}
	outside := filepath.Join(t.TempDir(), "outside.csv")
	require.NoError(t, os.WriteFile(outside, []byte("x,y\n7,SECRET\n"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "t", "link.csv")))
	secrets = append(secrets, outside, filepath.Join(root, "t", "link.csv"))

	cache := t.TempDir()
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{root}, CacheDir: cache})
	require.NoError(t, err)
	defer cat.Close()
	e, err := Open(context.Background(), cat, Options{Sandbox: true, SandboxDir: cache})
	require.NoError(t, err)
	defer e.Close()
	secrets = append(secrets, filepath.Join(cache, "stats"))
	require.Empty(t, e.served.Coarse, "the test's roots and cache share a file system")

	read := func(path string) (string, error) {
		c, err := e.acquire(context.Background())
		require.NoError(t, err)
		defer e.release(c)
		rows, err := c.ReadAll(context.Background(), "SELECT string_agg(y, ',') FROM read_csv("+connectors.QuoteString(path)+", header=true, all_varchar=true)")
		if err != nil {
			return "", e.clean(err)
		}
		defer duck.Release(rows)
		var out []string
		for _, r := range rows {
			out = append(out, strings.Clone(r.Column(0).ValueStr(0)))
		}
		return strings.Join(out, ","), nil
	}
	for _, s := range secrets {
		for _, form := range []string{s, filepath.Join(e.served.Dir, s), e.served.Dir + "/../" + filepath.Base(e.served.Dir) + s} {
			got, err := read(form)
			require.Error(t, err, "%s read: %q", form, got)
			require.NotContains(t, err.Error(), "SECRET")
			require.NotContains(t, err.Error(), e.served.Dir, "errors name the files' own paths")
		}
	}
	// The table's file, through the sandbox's path, is readable.
	link, err := e.served.Path(table)
	require.NoError(t, err)
	got, err := read(link)
	require.NoError(t, err)
	require.Equal(t, "one,two", got)

	// A file added to the table is served after a refresh; a removed one
	// is not, even if it comes back outside the catalog's view.
	added := write("t/b.csv", "x,y\n3,three\n")
	require.NoError(t, e.Refresh(context.Background()))
	require.Equal(t, [][]string{{"3"}}, queryRows(t, e, "SELECT count(*) FROM t"))
	require.NoError(t, os.Remove(added))
	require.NoError(t, e.Refresh(context.Background()))
	require.NoFileExists(t, filepath.Join(e.served.Dir, added))
	require.Equal(t, [][]string{{"2"}}, queryRows(t, e, "SELECT count(*) FROM t"))

	// A file replaced by a rename is linked again: no stale contents.
	tmp := write("t/.a.csv.tmp", "x,y\n1,uno\n2,dos\n")
	require.NoError(t, os.Rename(tmp, table))
	require.NoError(t, e.Refresh(context.Background()))
	require.Equal(t, [][]string{{"dos,uno"}}, queryRows(t, e, "SELECT string_agg(y, ',' ORDER BY y) FROM t"))

	// Close removes the links, never the files.
	dir := e.served.Dir
	e.Close()
	require.NoDirExists(t, dir)
	require.FileExists(t, table)
}

func queryRows(t *testing.T, e *Engine, q string) [][]string {
	t.Helper()
	r, err := e.Query(context.Background(), q)
	require.NoError(t, err)
	defer r.Release()
	var out [][]string
	for r.Next() {
		rec := r.RecordBatch()
		for i := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range row {
				row[c] = strings.Clone(rec.Column(c).ValueStr(i))
			}
			out = append(out, row)
		}
	}
	require.NoError(t, r.Err())
	return out
}
