package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// Text files on object storage are read as the same files on local disk:
// the same dialects, encodings (a UTF-16 byte-order mark, latin-1),
// compressions, and the same files left out for the same reasons.
func TestObjectStorageTextAsLocal(t *testing.T) {
	srv := fixture.S3(t)
	srv.SetEnv(t)
	dir := t.TempDir()
	for name, f := range oddCSVFiles(t) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), f.content, 0o644))
	}
	srv.Upload(t, "lake", "odd/", dir)
	opts := engine.Options{Sandbox: true, ExtensionDir: fixture.ExtensionDir(t)}
	local := openOn(t, dir, t.TempDir(), opts)
	remote := openOn(t, "s3://lake/odd/", t.TempDir(), opts)
	unpath := func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "s3://lake/odd", "ROOT"), dir, "ROOT")
	}

	remoteTables := remote.Catalog().Snapshot()
	names := func(e *engine.Engine) []string {
		var out []string
		for _, tb := range e.Catalog().Snapshot().Tables {
			out = append(out, tb.Name)
		}
		return out
	}
	require.Equal(t, names(local), names(remote))
	for _, lt := range local.Catalog().Snapshot().Tables {
		t.Run(lt.Name, func(t *testing.T) {
			rt, ok := remoteTables.Table(lt.Name)
			require.True(t, ok, "table %s on object storage", lt.Name)
			require.Equal(t, lt.Columns, rt.Columns)
			require.Equal(t, len(lt.Problems), len(rt.Problems))
			for i := range lt.Problems {
				require.Equal(t, unpath(lt.Problems[i].Error()), unpath(rt.Problems[i].Error()))
			}
			if len(lt.Files) == 0 {
				return
			}
			q := "SELECT * FROM " + connectors.QuoteIdent(lt.Name) + " ORDER BY ALL"
			want, wantErr := tryAnswer(local, q)
			got, gotErr := tryAnswer(remote, q)
			if wantErr != nil {
				require.Error(t, gotErr, "local: %v", wantErr)
				return
			}
			require.NoError(t, gotErr)
			require.Equal(t, want, got)
		})
	}
}

func tryAnswer(e *engine.Engine, q string) ([][]string, error) {
	rows, err := e.Query(context.Background(), q)
	if err != nil {
		return nil, err
	}
	defer rows.Release()
	return fixture.TryArrowRows(rows)
}
