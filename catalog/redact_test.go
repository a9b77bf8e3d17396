package catalog_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/internal/fixture"
)

// DuckDB's own errors about bad files quote their contents; what clients
// are told of a file that is not served quotes nothing but its name.
func TestRedactQuotesNothingFromTheFile(t *testing.T) {
	dir := t.TempDir()
	db := fixture.DB(t)
	for name, tc := range map[string]struct{ content, read string }{
		"ragged.csv":   {"a,b\n1,2\n3,SECRET-1,SECRET-2\n", "read_csv(%s, auto_detect=false, header=true, columns={'a': 'INTEGER', 'b': 'VARCHAR'})"},
		"convert.csv":  {"a,b\n1,2\nSECRET-1,x\n", "read_csv(%s, auto_detect=false, header=true, columns={'a': 'INTEGER', 'b': 'VARCHAR'})"},
		"sniffed.csv":  {"a,b\n1,2\nSECRET-1,x\n", "read_csv(%s, types={'a': 'INTEGER'})"},
		"header.csv":   {"SECRET-1,SECRET-2\n1,2\n", "read_csv(%s, auto_detect=false, header=true, columns={'a': 'DATE', 'b': 'INTEGER'})"},
		"quoted.csv":   {"a,b\n1,\"SECRET-1\n", "read_csv(%s, auto_detect=false, header=true, columns={'a': 'INTEGER', 'b': 'VARCHAR'})"},
		"json.json":    {"{\"a\": \"SECRET-1\"}\n{\"a\": 1}\n", "read_json(%s, columns={'a': 'INTEGER'})"},
		"parquet.parq": {"PAR1SECRET-1", "read_parquet(%s)"},
	} {
		t.Run(name, func(t *testing.T) {
			path := fixture.Write(t, filepath.Join(dir, name), tc.content)
			_, err := fixture.TryRows(db, "SELECT * FROM "+strings.Replace(tc.read, "%s", connectors.QuoteString(path), 1))
			require.Error(t, err)
			p := catalog.Problem{Path: path, Err: connectors.CleanError(err)}
			got := p.Redacted()
			require.NotContains(t, got, "SECRET", "DuckDB said: %s", err)
			require.NotEmpty(t, got)
			t.Logf("%s\n  -> %s", err, got)
		})
	}
	require.Equal(t, `cannot read "/d/x.csv": line 3, value '…'`, catalog.Redact(`cannot read "/d/x.csv": line 3, value 'SECRET'`, "/d/x.csv"))
}
