package sql_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/sql"
)

// The gate by class: each statement is either analysed whole and found to
// read only catalog tables, or refused.
func TestGateClasses(t *testing.T) {
	p := parser(t)
	isTable := func(n string) bool { _, ok := columns(n); return ok }
	const f = `'/data/_private/secret.csv'`
	const q = `"/data/_private/secret.csv"`
	for _, tc := range []struct {
		class, sql string
		ok         bool
	}{
		// basics
		{"basics", "SELECT * FROM trips JOIN zones USING (zone_id)", true},
		{"basics", "WITH x AS (SELECT * FROM trips) SELECT * FROM x", true},
		{"basics", "SELECT * FROM information_schema.tables", true},
		{"basics", "SELECT * FROM read_csv('/etc/passwd')", false},
		{"basics", "SELECT * FROM '/etc/passwd'", false},
		{"basics", "SELECT * FROM glob('/*')", false},
		{"basics", "SELECT (SELECT count(*) FROM read_text('/etc/hosts'))", false},
		{"basics", "SELECT * FROM trips WHERE zone_id IN (SELECT 1 FROM read_parquet('../x.parquet'))", false},
		{"basics", "SELECT * FROM other.main.trips", false},
		{"basics", "SELECT * FROM \"data.csv\"", false},
		// A CTE hides a name only as DuckDB binds names: ASCII letters in
		// any case, other characters as they are ("ſ" folds to "s" in
		// Unicode, not in DuckDB).
		{"case folding", `WITH "/d/secret.csv" AS (SELECT 1) SELECT * FROM "/d/secret.csv"`, true},
		{"case folding", `WITH "/D/SECRET.CSV" AS (SELECT 1) SELECT * FROM "/d/secret.csv"`, true},
		{"case folding", `WITH "/d/ſecret.cſv" AS (SELECT 1) SELECT * FROM "/d/secret.csv"`, false},
		{"case folding", "WITH \"/d/\u212aey.csv\" AS (SELECT 1) SELECT * FROM \"/d/key.csv\"", false},
		{"scoping", "SELECT * FROM (WITH " + q + " AS (SELECT 1) SELECT * FROM " + q + "), " + q, false},
		{"scoping", "WITH " + q + " AS (SELECT 1) SELECT * FROM " + q, true},
		{"scoping", "WITH x AS (SELECT * FROM " + q + "), " + q + " AS (SELECT 1) SELECT * FROM x", false},
		{"scoping", "WITH " + q + " AS (SELECT * FROM " + q + ") SELECT * FROM " + q, false},
		{"scoping", "WITH a AS (SELECT 1) SELECT * FROM trips WHERE EXISTS (WITH " + q + " AS (SELECT 1) SELECT 1) AND EXISTS (SELECT * FROM " + q + ")", false},
		{"scoping", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r", true},
		{"scoping", "WITH RECURSIVE " + q + "(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM " + q + " WHERE n < 3) SELECT * FROM " + q, true},
		{"scoping", "WITH RECURSIVE r(n) AS (SELECT * FROM " + q + " UNION ALL SELECT n + 1 FROM r) SELECT * FROM r", false},
		{"scoping", "SELECT (SELECT count(*) FROM " + q + ")", false},
		{"scoping", "SELECT * FROM trips t, LATERAL (SELECT * FROM " + q + ") s", false},
		{"scoping", "SELECT * FROM trips ORDER BY (SELECT 1 FROM " + q + ")", false},
		{"table functions", "SELECT * FROM read_csv(" + f + ")", false},
		{"table functions", "SELECT * FROM READ_CSV_AUTO(" + f + ")", false},
		{"table functions", "SELECT * FROM main.range(3)", false},
		{"table functions", "SELECT * FROM range(3), unnest([1, 2])", true},
		{"table functions", "SELECT * FROM query('SELECT * FROM " + f[1:len(f)-1] + "')", false},
		{"table functions", "SELECT * FROM range((SELECT count(*) FROM " + q + "))", false},
		{"names", "SELECT * FROM " + f, false},
		{"names", "SELECT * FROM main." + q, false},
		{"names", "SELECT * FROM information_schema." + q, false},
		{"names", "SELECT * FROM qry.main.trips", true},
		{"names", "SELECT * FROM memory.main.trips", false},
		{"names", "SELECT * FROM duckdb_tables", true},
		{"names", "SELECT * FROM nosuch", true},
		{"show", "DESCRIBE " + q, false},
		{"show", "DESCRIBE trips", true},
		{"show", "SHOW " + q, false},
		{"show", "SHOW TABLES", true},
		{"show", "SUMMARIZE SELECT * FROM " + q, false},
		{"values", "SELECT * FROM (VALUES ((SELECT 1 FROM " + q + "))) v(x)", false},
		{"set operations", "SELECT 1 UNION ALL SELECT * FROM " + q, false},
		{"settings", "SELECT current_setting('s3_secret_access_key')", false},
		{"settings", "SELECT * FROM trips WHERE payment = \"CURRENT_SETTING\"('memory_limit')", false},
	} {
		t.Run(tc.class+": "+tc.sql, func(t *testing.T) {
			st, err := p.Parse(context.Background(), tc.sql)
			require.NoError(t, err)
			err = sql.CheckSources(st, isTable)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, sql.ErrForbidden)
			}
		})
	}
}
