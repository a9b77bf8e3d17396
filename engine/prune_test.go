package engine_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// pruneDataset writes many small files: a hive-partitioned Parquet table, a
// flat Parquet table whose files differ in columns (so some files lack
// statistics for a column), and a multi-file CSV table. Values include NULLs,
// negative numbers, strings, dates and timestamps.
func pruneDataset(t *testing.T) (string, func(string) [][]string) {
	t.Helper()
	dir := t.TempDir()
	db := fixture.DB(t)
	fixture.Exec(t, db,
		`CREATE TABLE base AS SELECT i AS id,
		   CASE WHEN i % 17 = 0 THEN NULL ELSE (i * 7919) % 2001 - 1000 END AS n,
		   CASE WHEN i % 23 = 0 THEN NULL ELSE chr((97 + i % 26)::INTEGER) || (i % 100)::VARCHAR END AS s,
		   DATE '2023-06-01' + (i % 400)::INT AS d,
		   TIMESTAMP '2024-02-28 23:00:00' + to_seconds(i * 613) AS ts,
		   ((i * 31) % 1000) / 8.0 - 60 AS x,
		   i % 5 AS p, ['red','green','blue'][1 + i % 3] AS color
		 FROM range(6000) r(i)`,
		"COPY (SELECT * FROM base ORDER BY d) TO '"+filepath.Join(dir, "hive")+"' (FORMAT parquet, PARTITION_BY (p, color), ROW_GROUP_SIZE 500)")
	flat := filepath.Join(dir, "flat")
	csvDir := filepath.Join(dir, "csv")
	require.NoError(t, os.MkdirAll(flat, 0o755))
	require.NoError(t, os.MkdirAll(csvDir, 0o755))
	for k := 0; k < 12; k++ {
		where := fmt.Sprintf("WHERE id %% 12 = %d", k)
		cols := "id, n, s, d, ts, x"
		if k%4 == 3 {
			cols = "id, n, d, ts" // no s, no x in these files
		}
		fixture.Exec(t, db,
			fmt.Sprintf("COPY (SELECT %s FROM base %s ORDER BY n) TO '%s' (FORMAT parquet)", cols, where, filepath.Join(flat, fmt.Sprintf("f%02d.parquet", k))),
			fmt.Sprintf("COPY (SELECT id, n, s, d, ts, x FROM base WHERE id // 500 = %d) TO '%s' (FORMAT csv, HEADER true)", k, filepath.Join(csvDir, fmt.Sprintf("c%02d.csv", k))))
	}
	fixture.Exec(t, db,
		"CREATE VIEW hive AS SELECT * FROM read_parquet('"+filepath.Join(dir, "hive", "**", "*.parquet")+"', hive_partitioning=true)",
		"CREATE VIEW flat AS SELECT * FROM read_parquet('"+filepath.Join(flat, "*.parquet")+"', union_by_name=true)",
		// loaded once: sniffing twelve files per query would dominate the test
		"CREATE TABLE csv AS SELECT * FROM read_csv('"+filepath.Join(csvDir, "*.csv")+"', union_by_name=true)")
	return dir, func(q string) [][]string { return fixture.Rows(t, db, q) }
}

// randomPredicate builds a predicate from leaves the pruner understands and
// some it does not, over columns with and without statistics.
func randomPredicate(rng *rand.Rand, table string) string {
	num := func() string { return fmt.Sprint(rng.Intn(2400) - 1200) }
	leaf := func() string {
		switch rng.Intn(16) {
		case 0:
			return "n = " + num()
		case 1:
			return "n < " + num()
		case 2:
			return "n >= " + num()
		case 3:
			a := rng.Intn(2000) - 1000
			return fmt.Sprintf("n BETWEEN %d AND %d", a, a+rng.Intn(300))
		case 4:
			return fmt.Sprintf("n IN (%s, %s, %s)", num(), num(), num())
		case 5:
			return fmt.Sprintf("s = '%c%d'", 'a'+rng.Intn(26), rng.Intn(100))
		case 6:
			return fmt.Sprintf("s LIKE '%c%%'", 'a'+rng.Intn(27))
		case 7:
			return fmt.Sprintf("d > DATE '2023-06-01' + %d", rng.Intn(420))
		case 8:
			return fmt.Sprintf("d <= '%s'", []string{"2023-07-01", "2024-01-15", "2024-07-04", "2022-01-01"}[rng.Intn(4)])
		case 9:
			return fmt.Sprintf("ts >= TIMESTAMP '2024-%02d-%02d 12:00:00'", 1+rng.Intn(12), 1+rng.Intn(28))
		case 10:
			return fmt.Sprintf("ts < '2024-%02d-01'", 1+rng.Intn(12))
		case 11:
			return []string{"s IS NULL", "s IS NOT NULL", "n IS NULL", "x IS NULL"}[rng.Intn(4)]
		case 12:
			return fmt.Sprintf("x > %.3f", rng.Float64()*140-70)
		case 13:
			return fmt.Sprintf("x <> %d", rng.Intn(10))
		case 14:
			return fmt.Sprintf("abs(n) < %d", rng.Intn(500)) // not understood
		default:
			if table == "hive" {
				return []string{"p = 3", "p IN (0, 4)", "color = 'blue'", "p > 1 AND color <> 'red'", "color LIKE 'g%'"}[rng.Intn(5)]
			}
			return fmt.Sprintf("id %% 12 = %d", rng.Intn(12))
		}
	}
	var parts []string
	for i := 0; i < 1+rng.Intn(3); i++ {
		if rng.Intn(4) == 0 {
			parts = append(parts, "("+leaf()+" OR "+leaf()+")")
		} else {
			parts = append(parts, leaf())
		}
	}
	return strings.Join(parts, " AND ")
}

// Every answer through qry (pruned) equals DuckDB's over the raw files.
func TestPruningDifferential(t *testing.T) {
	dir, ref := pruneDataset(t)
	e := openEngine(t, dir, engine.Options{})
	rng := rand.New(rand.NewSource(7))
	pruned, fromStats := 0, 0
	n := 400
	if testing.Short() {
		n = 80
	}
	for i := 0; i < n; i++ {
		table := []string{"hive", "flat", "csv"}[i%3]
		pred := randomPredicate(rng, table)
		var q string
		switch rng.Intn(4) {
		case 0:
			q = fmt.Sprintf("SELECT count(*), count(s), sum(n), min(d), max(ts) FROM %s WHERE %s", table, pred)
		case 1:
			q = fmt.Sprintf("SELECT id, n, s FROM %s WHERE %s ORDER BY id LIMIT 20", table, pred)
		case 2:
			other := []string{"hive", "flat", "csv"}[rng.Intn(3)]
			if rng.Intn(2) == 0 {
				q = fmt.Sprintf("SELECT count(*), sum(t2.n) FROM (SELECT * FROM %s WHERE %s) t1 JOIN %s t2 USING (id)", table, pred, other)
			} else {
				q = fmt.Sprintf("SELECT count(*), count(t2.n) FROM %s t1 LEFT JOIN (SELECT * FROM %s WHERE %s) t2 USING (id) WHERE t1.id < 3000", other, table, pred)
			}
		default:
			if table == "hive" {
				q = fmt.Sprintf("SELECT count(*), min(n), max(d), min(p) FROM hive WHERE %s", []string{"p = 2", "p IN (1, 3) AND color = 'red'", "color <> 'green'", "p >= 3 OR color = 'blue'"}[rng.Intn(4)])
			} else {
				q = fmt.Sprintf("SELECT count(*), min(n), max(ts) FROM %s", table)
			}
		}
		rows, err := e.Query(context.Background(), q)
		require.NoError(t, err, q)
		got := fixture.ArrowRows(t, rows)
		plan := rows.Plan()
		rows.Release()
		require.Equal(t, ref(q), got, "%s\n%s", q, plan)
		for _, tp := range plan.Tables {
			if tp.Kept < tp.Files {
				pruned++
			}
		}
		if plan.FromStats {
			fromStats++
		}
	}
	t.Logf("%d queries, %d references pruned, %d answered from statistics", n, pruned, fromStats)
	require.Greater(t, pruned, n/5, "pruning happened")
	require.Positive(t, fromStats)
}

func TestExplainShowsPruning(t *testing.T) {
	dir, ref := pruneDataset(t)
	e := openEngine(t, dir, engine.Options{})
	rows, err := e.Query(context.Background(), "EXPLAIN SELECT count(*) FROM hive WHERE p = 3 AND color = 'red'")
	require.NoError(t, err)
	got := fixture.ArrowRows(t, rows)
	rows.Release()
	total := ref("SELECT count(DISTINCT (p, color)) FROM hive")[0][0]
	require.Equal(t, "qry plan", got[0][0])
	require.Contains(t, got[0][1], "hive: "+total+" files, 1 read")
	require.Contains(t, got[0][1], "p = 3 AND color = 'red'")
	require.Equal(t, "physical_plan", got[1][0])
}

// A file holding columns named like the hive keys of its directories is
// read as DuckDB's hive_partitioning reads it: the directory's value is the
// column's, and pruning goes by it, not by the file's own values. (A file
// copied from year=2024/month=1 into year=2025/month=1 was pruned from
// year = 2025.)
func TestHiveKeyShadowsFileColumn(t *testing.T) {
	dir := t.TempDir()
	db := fixture.DB(t)
	for _, p := range []struct{ dirYear, dirMonth, fileYear, fileMonth int }{
		{2024, 1, 2024, 1}, {2024, 2, 2024, 2}, {2025, 1, 2024, 1}, {2025, 3, 1999, 12},
	} {
		d := filepath.Join(dir, "t", fmt.Sprintf("year=%d", p.dirYear), fmt.Sprintf("month=%d", p.dirMonth))
		require.NoError(t, os.MkdirAll(d, 0o755))
		fixture.Exec(t, db, fmt.Sprintf("COPY (SELECT i AS id, %d AS year, %d AS month FROM range(10 + %d) r(i)) TO '%s'",
			p.fileYear, p.fileMonth, p.dirMonth, filepath.Join(d, "p.parquet")))
	}
	e := openEngine(t, dir, engine.Options{Sandbox: true})
	tb, ok := e.Catalog().Snapshot().Table("t")
	require.True(t, ok)
	var names []string
	for _, c := range tb.Columns {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"id", "year", "month"}, names, "one column per name: the hive keys")
	scan := "read_parquet('" + filepath.Join(dir, "t", "**", "*.parquet") + "', hive_partitioning = true)"
	for _, q := range []string{
		"SELECT year, month, count(*) FROM t GROUP BY ALL ORDER BY ALL",
		"SELECT count(*) FROM t WHERE year = 2025",
		"SELECT count(*) FROM t WHERE year = 2024 AND month = 1",
		"SELECT count(*), min(year), max(month) FROM t WHERE month >= 3",
		"SELECT min(year), max(year) FROM t",
	} {
		got, _ := answer(t, e, q)
		require.Equal(t, fixture.Rows(t, db, strings.Replace(q, "FROM t", "FROM "+scan, 1)), got, q)
	}
}
