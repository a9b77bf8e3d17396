package config_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/config"
)

func TestParse(t *testing.T) {
	text := `# a full file
tables:
  - name: trips
    path: data/trips
    format: parquet
data: [more]
cache_dir: cache
server:
  listen: 0.0.0.0:31337
  http: 0.0.0.0:8080
  tokens: secrets/tokens
  tls:
    cert: /abs/server.pem
    key: server.key
limits:
  query_timeout: 30s
  max_concurrent: 4
log:
  format: json
  sql: true
`
	f, err := config.Parse("/etc/qry/qry.yaml", []byte(text))
	require.NoError(t, err)
	require.Equal(t, "/etc/qry/data/trips", f.Catalog.Tables[0].Path)
	require.Equal(t, []string{"/etc/qry/more"}, f.Catalog.Data)
	want := []config.Setting{
		{Key: "cache_dir", Flag: "cache-dir", Value: "/etc/qry/cache", Line: 7},
		{Key: "server.listen", Flag: "listen", Value: "0.0.0.0:31337", Line: 9},
		{Key: "server.http", Flag: "http", Value: "0.0.0.0:8080", Line: 10},
		{Key: "server.tokens", Flag: "tokens", Value: "/etc/qry/secrets/tokens", Line: 11},
		{Key: "server.tls.cert", Flag: "tls-cert", Value: "/abs/server.pem", Line: 13},
		{Key: "server.tls.key", Flag: "tls-key", Value: "/etc/qry/server.key", Line: 14},
		{Key: "limits.query_timeout", Flag: "query-timeout", Value: "30s", Line: 16},
		{Key: "limits.max_concurrent", Flag: "max-concurrent", Value: "4", Line: 17},
		{Key: "log.format", Flag: "log-format", Value: "json", Line: 19},
		{Key: "log.sql", Flag: "log-sql", Value: "true", Line: 20},
	}
	require.Equal(t, want, f.Settings)
}

func TestErrorsNameTheirLines(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string // "line: fragment"
	}{
		{"unknown keys everywhere", "tables: []\nserver:\n  listen: x\n  lisen: y\nlimits:\n  max_concurency: 3\nextra: 1\n",
			[]string{`4: unknown key "lisen"`, `6: unknown key "max_concurency"`, `7: unknown key "extra"`}},
		{"a list where a value goes", "limits:\n  query_timeout: [1, 2]\n", []string{"2: want a single value"}},
		{"bad table format", "tables:\n  - name: a\n    path: x\n  - name: b\n    path: y\n    format: parq\n",
			[]string{`6: tables[1].format: "parq" is not parquet`}},
		{"table declared twice", "tables:\n  - {name: a, path: x}\n  - name: A\n    path: y\n", []string{"3: tables[1].name: table A is declared twice"}},
		{"path missing", "tables:\n  - name: a\n", []string{"2: tables[0]: path is missing"}},
		{"not yaml", "tables: [\n", []string{"did not find expected"}},
		{"unknown key in a table", "tables:\n  - name: x\n    pth: y\n", []string{`3: unknown key "pth"`}},
		{"unknown key in a column", "tables:\n  - name: x\n    path: y\n    columns:\n      - {name: a, typ: INT}\n",
			[]string{`5: unknown key "typ"`}},
		{"a value of another type", "tables:\n  - name: x\n    path: y\n    columns:\n      - name: a\n        type: INT\n        not_null: maybe\n",
			[]string{`7: tables[0].columns[0].not_null: "maybe" is not a bool`}},
		{"a value where a list goes", "tables: trips\n", []string{"1: tables: want a list"}},
		{"a list where keys go", "server: [a]\n", []string{"1: server: want keys and values"}},
		{"a key twice", "limits:\n  max_queue: 1\n  max_queue: 2\n", []string{`3: key "max_queue" given twice (first at line 2)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse("qry.yaml", []byte(c.text))
			require.Error(t, err)
			require.True(t, errors.Is(err, config.ErrInvalid))
			var errs config.Errors
			require.True(t, errors.As(err, &errs))
			require.Len(t, errs, len(c.want), "%v", err)
			for i, w := range c.want {
				line, frag, ok := strings.Cut(w, ": ")
				if !ok || strings.Contains(line, " ") {
					require.Contains(t, errs[i].Error(), w)
					continue
				}
				require.Equal(t, "qry.yaml:"+line, strings.SplitN(errs[i].Error(), ": ", 2)[0])
				require.Contains(t, errs[i].Msg, frag)
			}
		})
	}
}

func TestKeysHaveFlags(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range config.Keys() {
		require.NotEmpty(t, k.Flag, k.Key)
		require.False(t, seen[k.Flag], "flag %s twice", k.Flag)
		seen[k.Flag] = true
	}
	require.True(t, seen["query-timeout"])
}

func TestEmptyAndNullParts(t *testing.T) {
	for _, text := range []string{"", "# nothing\n", "tables:\nserver:\n"} {
		f, err := config.Parse("qry.yaml", []byte(text))
		require.NoError(t, err, "%q", text)
		require.Empty(t, f.Settings)
	}
	// An alias is read as what it names.
	f, err := config.Parse("qry.yaml", []byte("limits:\n  query_timeout: &t 30s\n  ticket_ttl: *t\n  max_queue: *t\n"))
	require.NoError(t, err)
	require.Equal(t, "30s", f.Settings[1].Value)
}

func TestLoadMissing(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "none.yaml"))
	require.ErrorIs(t, err, config.ErrInvalid)
	require.Contains(t, err.Error(), "none.yaml")
}
