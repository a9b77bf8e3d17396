// Command planner benchmarks file pruning: qry against DuckDB reading the
// same files by glob, in the same process, plus catalog build times.
//
//	go run -tags duckdb_arrow ./benchmarks/planner [-files 10000] [-rows 10000000] [-csv 1000] [-huge 0]
//
// Data goes to benchmarks/data/planner (generated once, reused).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
)

func main() {
	files := flag.Int("files", 10000, "Parquet files (hive layout day=/bucket=)")
	rows := flag.Int("rows", 10_000_000, "rows over all Parquet files")
	csvFiles := flag.Int("csv", 1000, "CSV files")
	huge := flag.Int("huge", 0, "also time a warm restart over this many files (copies of the data)")
	repeats := flag.Int("repeats", 3, "runs per query (best is kept)")
	flag.Parse()
	if err := run(*files, *rows, *csvFiles, *huge, *repeats); err != nil {
		fmt.Fprintln(os.Stderr, "planner:", err)
		os.Exit(1)
	}
}

func run(files, rows, csvFiles, huge, repeats int) error {
	ctx := context.Background()
	root := filepath.Join("benchmarks", "data", "planner", fmt.Sprintf("v2-%d-%d-%d", files, rows, csvFiles))
	data := filepath.Join(root, "data")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	days := 100
	buckets := files / days
	if _, err := os.Stat(filepath.Join(root, "ok")); err != nil {
		fmt.Fprintf(os.Stderr, "generating %d Parquet files (%d rows) and %d CSV files in %s ...\n", files, rows, csvFiles, data)
		if err := os.RemoveAll(root); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(data, "events"), 0o755); err != nil {
			return err
		}
		stmts := []string{
			"SET preserve_insertion_order = false",
			// Each file holds a contiguous block of ids, as data that
			// arrives over time does.
			fmt.Sprintf(`COPY (SELECT i AS id, i // %d AS day, (i // %d) %% %d AS bucket,
			   hash(i) %% 1000000 AS user_id, (hash(i, 'v') %% 100000) / 100.0 AS amount,
			   ['a','b','c','d'][1 + (i %% 4)] AS kind, TIMESTAMP '2024-01-01' + to_seconds(i) AS at
			   FROM range(%d) r(i)) TO '%s' (FORMAT parquet, PARTITION_BY (day, bucket))`,
				rows/days, rows/(days*buckets), buckets, rows, filepath.Join(data, "events")),
			fmt.Sprintf(`COPY (SELECT i AS user_id, 'user' || i AS name, i %% 50 AS country FROM range(100000) r(i)) TO '%s' (FORMAT parquet)`,
				filepath.Join(data, "users.parquet")),
		}
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				return fmt.Errorf("%.50s: %w", s, err)
			}
		}
		csvDir := filepath.Join(data, "logs")
		if err := os.MkdirAll(csvDir, 0o755); err != nil {
			return err
		}
		per := 1000
		for k := 0; k < csvFiles; k++ {
			q := fmt.Sprintf(`COPY (SELECT %d * %d + i AS seq, (%d * %d + i) * 3 AS value, 'src' || (%d %% 7) AS source
			   FROM range(%d) r(i)) TO '%s' (FORMAT csv, HEADER true)`, k, per, k, per, k, per, filepath.Join(csvDir, fmt.Sprintf("log-%05d.csv", k)))
			if _, err := db.Exec(q); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(root, "ok"), nil, 0o644); err != nil {
			return err
		}
	}
	glob := filepath.Join(data, "events", "**", "*.parquet")
	fmt.Printf("data: %d Parquet files (%d rows, hive day=/bucket=), %d CSV files; %s\n\n", files, rows, csvFiles, time.Now().Format(time.DateOnly))

	// Catalog: cold build, warm restart, refresh after adding 100 files.
	cache := filepath.Join(root, "cache")
	os.RemoveAll(cache)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t0 := time.Now()
	cat, err := catalog.Open(ctx, catalog.Options{Data: []string{data}, CacheDir: cache, Logger: log})
	if err != nil {
		return err
	}
	cold := time.Since(t0)
	cat.Close()
	t0 = time.Now()
	cat, err = catalog.Open(ctx, catalog.Options{Data: []string{data}, CacheDir: cache, Logger: log})
	if err != nil {
		return err
	}
	warm := time.Since(t0)
	extra := filepath.Join(data, "events", "day=999")
	os.RemoveAll(extra)
	for k := 0; k < 100; k++ {
		dir := filepath.Join(extra, "bucket="+strconv.Itoa(k))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if _, err := db.Exec(fmt.Sprintf("COPY (SELECT %d AS id, 1 AS user_id, 1.0 AS amount, 'a' AS kind, TIMESTAMP '2024-01-01' AS at) TO '%s'", k, filepath.Join(dir, "data_0.parquet"))); err != nil {
			return err
		}
	}
	t0 = time.Now()
	if err := cat.Refresh(ctx); err != nil {
		return err
	}
	refresh := time.Since(t0)
	os.RemoveAll(extra)
	if err := cat.Refresh(ctx); err != nil {
		return err
	}
	eng, err := engine.Open(ctx, cat, engine.Options{})
	if err != nil {
		return err
	}
	defer eng.Close()

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "catalog\tseconds\t")
	fmt.Fprintf(w, "cold build (%d files)\t%.3f\t\n", files+csvFiles+1, cold.Seconds())
	fmt.Fprintf(w, "warm restart (persisted stats)\t%.3f\t\n", warm.Seconds())
	fmt.Fprintf(w, "refresh after adding 100 files\t%.3f\t\n", refresh.Seconds())
	w.Flush()
	fmt.Println()

	queries := []struct{ name, qry, duck string }{
		{"point lookup, one partition",
			"SELECT count(*), sum(amount) FROM events WHERE day = 42 AND bucket = 7",
			"SELECT count(*), sum(amount) FROM read_parquet('" + glob + "', hive_partitioning=true) WHERE day = 42 AND bucket = 7"},
		{"selective range, non-partition column",
			fmt.Sprintf("SELECT count(*), sum(amount) FROM events WHERE id BETWEEN %d AND %d", rows/2, rows/2+5000),
			fmt.Sprintf("SELECT count(*), sum(amount) FROM read_parquet('"+glob+"', hive_partitioning=true) WHERE id BETWEEN %d AND %d", rows/2, rows/2+5000)},
		{"full-scan aggregate",
			"SELECT kind, count(*), sum(amount) FROM events GROUP BY kind ORDER BY kind",
			"SELECT kind, count(*), sum(amount) FROM read_parquet('" + glob + "', hive_partitioning=true) GROUP BY kind ORDER BY kind"},
		{"count(*) from statistics",
			"SELECT count(*) FROM events WHERE day < 10",
			"SELECT count(*) FROM read_parquet('" + glob + "', hive_partitioning=true) WHERE day < 10"},
		{"join with a dimension",
			"SELECT u.country, count(*) FROM events e JOIN users u USING (user_id) WHERE e.day = 3 GROUP BY ALL ORDER BY 2 DESC LIMIT 3",
			"SELECT u.country, count(*) FROM read_parquet('" + glob + "', hive_partitioning=true) e JOIN '" + filepath.Join(data, "users.parquet") + "' u USING (user_id) WHERE e.day = 3 GROUP BY ALL ORDER BY 2 DESC LIMIT 3"},
		{"CSV range (1,000 files)",
			fmt.Sprintf("SELECT count(*), sum(value) FROM logs WHERE seq BETWEEN %d AND %d", csvFiles*500, csvFiles*500+2000),
			fmt.Sprintf("SELECT count(*), sum(value) FROM read_csv('%s') WHERE seq BETWEEN %d AND %d", filepath.Join(data, "logs", "*.csv"), csvFiles*500, csvFiles*500+2000)},
	}
	fmt.Fprintln(w, "query\tqry s\tDuckDB glob s\tspeed-up\tfiles read\t")
	for _, q := range queries {
		var best, bestDuck time.Duration
		var plan *engine.Plan
		var a, b string
		for i := 0; i < repeats; i++ {
			t0 := time.Now()
			rows, err := eng.Query(ctx, q.qry)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			a = drain(rows)
			plan = rows.Plan()
			rows.Release()
			if d := time.Since(t0); i == 0 || d < best {
				best = d
			}
			t0 = time.Now()
			b, err = duck(db, q.duck)
			if err != nil {
				return fmt.Errorf("%s (duckdb): %w", q.name, err)
			}
			if d := time.Since(t0); i == 0 || d < bestDuck {
				bestDuck = d
			}
		}
		if a != b {
			return fmt.Errorf("%s: qry answered %s, DuckDB %s", q.name, a, b)
		}
		read := "stats only"
		if !plan.FromStats && len(plan.Tables) > 0 {
			read = fmt.Sprintf("%d / %d", plan.Tables[0].Kept, plan.Tables[0].Files)
		}
		fmt.Fprintf(w, "%s\t%.4f\t%.4f\t%.1fx\t%s\t\n", q.name, best.Seconds(), bestDuck.Seconds(), bestDuck.Seconds()/best.Seconds(), read)
	}
	w.Flush()

	if huge > 0 {
		return hugeRestart(ctx, root, data, huge, log)
	}
	return nil
}

func drain(rows *engine.Rows) string {
	var out []string
	for rows.Next() {
		rec := rows.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			for c := 0; c < int(rec.NumCols()); c++ {
				out = append(out, strings.Clone(norm(rec.Column(c).ValueStr(r))))
			}
		}
	}
	return strings.Join(out, "|")
}

func duck(db *sql.DB, q string) (string, error) {
	rows, err := db.Query(q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			out = append(out, norm(fmt.Sprint(v)))
		}
	}
	return strings.Join(out, "|"), rows.Err()
}

// norm rounds floats so that summation order does not matter.
func norm(s string) string {
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, ".e") {
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
	return s
}

// hugeRestart times a warm restart over n files: hard links to the data's
// Parquet files, indexed once, then reopened.
func hugeRestart(ctx context.Context, root, data string, n int, log *slog.Logger) error {
	dir := filepath.Join(root, "huge", "big")
	var srcs []string
	_ = filepath.WalkDir(filepath.Join(data, "events"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") {
			srcs = append(srcs, p)
		}
		return nil
	})
	if len(srcs) == 0 {
		return fmt.Errorf("no Parquet file to link")
	}
	if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("p=%d", n-1))); err != nil {
		fmt.Fprintf(os.Stderr, "linking %d files ...\n", n)
		for k := 0; k < n; k++ {
			d := filepath.Join(dir, fmt.Sprintf("p=%d", k))
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			// Files linked round-robin (a file takes at most 65,000 links).
			if err := os.Link(srcs[k%len(srcs)], filepath.Join(d, "f.parquet")); err != nil && !os.IsExist(err) {
				return err
			}
		}
	}
	cache := filepath.Join(root, "huge-cache")
	t0 := time.Now()
	cat, err := catalog.Open(ctx, catalog.Options{Data: []string{filepath.Dir(dir)}, CacheDir: cache, Logger: log})
	if err != nil {
		return err
	}
	first := time.Since(t0)
	cat.Close()
	t0 = time.Now()
	cat, err = catalog.Open(ctx, catalog.Options{Data: []string{filepath.Dir(dir)}, CacheDir: cache, Logger: log})
	if err != nil {
		return err
	}
	warm := time.Since(t0)
	t, _ := cat.Snapshot().Table("big")
	cat.Close()
	fmt.Printf("\n%d files: first open %.1f s, warm restart %.3f s, %d files in the table\n", n, first.Seconds(), warm.Seconds(), len(t.Files))
	return nil
}
