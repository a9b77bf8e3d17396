package planner_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/planner"
	"github.com/qry-dev/qry/sql"
)

// trips is a hand-made table: four Parquet files, partitioned by year, with
// statistics on fare. Every expected answer below is read off this table.
//
//	file                 year  rows  fare min..max  nulls
//	year=2022/a.parquet  2022   10     1 .. 9         0
//	year=2022/b.parquet  2022    5    20 .. 40        1
//	year=2023/c.parquet  2023    7     3 .. 12        0
//	year=2023/d.parquet  2023    2    50 .. 60        0
func trips() *catalog.Table {
	file := func(year, name string, rows int64, lo, hi string, nulls int64) *catalog.File {
		return &catalog.File{
			Path:      filepath.Join("/data/trips", "year="+year, name),
			Partition: map[string]string{"year": year},
			Rows:      rows,
			Columns:   []connectors.Column{{Name: "fare", Type: "BIGINT"}, {Name: "zone", Type: "VARCHAR"}},
			Stats: map[string]connectors.ColumnStats{
				"fare": {Min: lo, Max: hi, HasMinMax: true, NullCount: nulls},
				"zone": {NullCount: -1},
			},
		}
	}
	return &catalog.Table{
		Name: "trips", Root: "/data/trips", Format: "parquet",
		Columns: []catalog.Column{{Name: "fare", Type: "BIGINT"}, {Name: "zone", Type: "VARCHAR"}, {Name: "year", Type: "BIGINT", Partition: true}},
		Files: []*catalog.File{
			file("2022", "a.parquet", 10, "1", "9", 0),
			file("2022", "b.parquet", 5, "20", "40", 1),
			file("2023", "c.parquet", 7, "3", "12", 0),
			file("2023", "d.parquet", 2, "50", "60", 0),
		},
	}
}

// scan names the files it reads, so a test sees exactly what was kept.
func scan(t *catalog.Table, files []*catalog.File) (string, error) {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f.Path)
	}
	return fmt.Sprintf("scan_%s(%s)", t.Name, strings.Join(names, ",")), nil
}

func plan(t *testing.T, parser *sql.Parser, text string, env planner.Env) *planner.Plan {
	t.Helper()
	st, err := parser.Parse(context.Background(), text)
	require.NoError(t, err)
	p, err := planner.New(text, "", st, env)
	require.NoError(t, err)
	return p
}

// setup is a parser and an environment over trips.
func setup(t *testing.T) (*sql.Parser, *catalog.Table, planner.Env) {
	t.Helper()
	parser, err := sql.OpenParser()
	require.NoError(t, err)
	t.Cleanup(func() { _ = parser.Close() })
	table := trips()
	return parser, table, planner.Env{
		Snapshot:  catalog.NewSnapshot(1, table),
		Queryable: func(string) bool { return true },
		Scan:      scan,
		Live:      func(string) bool { return false },
	}
}

func TestPlan(t *testing.T) {
	parser, table, env := setup(t)
	for _, tc := range []struct {
		name   string
		sql    string
		env    func(planner.Env) planner.Env
		kept   []string // files read, by name; nil: no table planned
		alias  string
		pushed string
		sqlHas string // what DuckDB runs contains this
	}{
		{name: "partition value prunes", sql: "SELECT fare FROM trips WHERE year = 2023",
			kept: []string{"c.parquet", "d.parquet"}, alias: "trips", pushed: "year = 2023", sqlHas: `FROM scan_trips(c.parquet,d.parquet) AS "trips" WHERE`},
		{name: "statistics prune", sql: "SELECT * FROM trips WHERE fare > 45",
			kept: []string{"d.parquet"}, alias: "trips", pushed: "fare > 45"},
		{name: "both, through an alias", sql: "SELECT t.zone FROM trips AS t WHERE t.year = 2022 AND t.fare BETWEEN 10 AND 19",
			kept: []string{}, alias: "t", pushed: "year = 2022 AND fare BETWEEN 10 AND 19", sqlHas: `scan_trips() AS "t"`},
		{name: "an OR keeps the union", sql: "SELECT * FROM trips WHERE fare < 2 OR fare > 55",
			kept: []string{"a.parquet", "d.parquet"}, alias: "trips"},
		{name: "what the planner cannot read keeps everything", sql: "SELECT * FROM trips WHERE fare % 7 = 1",
			kept: []string{"a.parquet", "b.parquet", "c.parquet", "d.parquet"}, alias: "trips", sqlHas: "FROM trips WHERE"},
		{name: "IS NULL keeps the file with nulls", sql: "SELECT * FROM trips WHERE fare IS NULL",
			kept: []string{"b.parquet"}, alias: "trips"},
		{name: "a table that is not queryable is not planned", sql: "SELECT * FROM trips WHERE year = 2023",
			env: func(e planner.Env) planner.Env { e.Queryable = func(string) bool { return false }; return e }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env
			if tc.env != nil {
				e = tc.env(e)
			}
			p := plan(t, parser, tc.sql, e)
			if tc.kept == nil {
				require.Empty(t, p.Tables)
				require.Equal(t, tc.sql, p.SQL)
				return
			}
			require.Len(t, p.Tables, 1)
			tp := p.Tables[0]
			require.Equal(t, "trips", tp.Table)
			require.Equal(t, tc.alias, tp.Alias)
			require.Equal(t, 4, tp.Files)
			require.Equal(t, len(tc.kept), tp.Kept)
			if tc.pushed != "" {
				require.Equal(t, tc.pushed, tp.Pushed)
			}
			if len(tc.kept) < 4 {
				want, _ := scan(table, filesNamed(table, tc.kept))
				require.Contains(t, p.SQL, want)
			}
			if tc.sqlHas != "" {
				require.Contains(t, p.SQL, tc.sqlHas)
			}
		})
	}
}

func filesNamed(t *catalog.Table, names []string) []*catalog.File {
	var out []*catalog.File
	for _, f := range t.Files {
		for _, n := range names {
			if filepath.Base(f.Path) == n {
				out = append(out, f)
			}
		}
	}
	return out
}

func TestStatsAnswer(t *testing.T) {
	parser, table, env := setup(t)

	// count(*) and max over 2023: 7 + 2 rows, max(12, 60).
	p := plan(t, parser, "SELECT count(*), max(fare), min(fare) FROM trips WHERE year = 2023", env)
	require.NotNil(t, p.Stats)
	require.Contains(t, p.Stats.Probe, "scan_trips() AS")
	q, ok := p.Stats.SQL([]string{"n", "hi", "lo"})
	require.True(t, ok)
	require.Equal(t, `SELECT CAST('9' AS BIGINT) AS "n", CAST('60' AS BIGINT) AS "hi", CAST('3' AS BIGINT) AS "lo"`, q)
	_, ok = p.Stats.SQL([]string{"n"})
	require.False(t, ok, "names that do not fit the answer")

	// Over every file: 24 rows; min 1.
	p = plan(t, parser, "SELECT count(*), min(fare) FROM trips", env)
	require.NotNil(t, p.Stats)
	q, _ = p.Stats.SQL([]string{"a", "b"})
	require.Equal(t, `SELECT CAST('24' AS BIGINT) AS "a", CAST('1' AS BIGINT) AS "b"`, q)

	// A predicate on data (not partition values) is not certain for
	// every row of a kept file: no answer from statistics.
	p = plan(t, parser, "SELECT count(*) FROM trips WHERE fare > 45", env)
	require.Nil(t, p.Stats)

	// An inexact file's statistics answer nothing.
	table.Files[2].Inexact = true
	p = plan(t, parser, "SELECT count(*) FROM trips WHERE year = 2023", env)
	require.Nil(t, p.Stats)
	table.Files[2].Inexact = false

	// A table with live rows: its files' statistics do not cover them.
	live := env
	live.Live = func(string) bool { return true }
	p = plan(t, parser, "SELECT count(*) FROM trips", live)
	require.Nil(t, p.Stats)
}
