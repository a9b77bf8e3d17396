// Command accel benchmarks accelerated tables: the same queries through
// qry's engine reading Parquet files and reading the table's copy in
// DuckDB's native storage, in one run; how long a file added to the table
// takes to be served from the copy after the refresh that finds it; and
// how long a restart over a disk copy takes until the copy serves.
//
//	go run -tags duckdb_arrow ./benchmarks/accel [-rows 10000000] [-files 10]
//
// Data is generated under benchmarks/data/accel (not committed).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
)

var queries = []struct{ name, sql string }{
	{"group by, 2 aggregates", "SELECT k, sum(v), avg(w) FROM t GROUP BY k ORDER BY k"},
	{"selective filter", "SELECT count(*), sum(v) FROM t WHERE w BETWEEN 10.0 AND 10.5"},
	{"distinct count", "SELECT count(DISTINCT s) FROM t"},
	{"top 10", "SELECT id, v FROM t ORDER BY v DESC, id LIMIT 10"},
}

func main() {
	rows := flag.Int("rows", 10_000_000, "rows in the table")
	files := flag.Int("files", 10, "Parquet files the rows are split into")
	repeats := flag.Int("repeats", 5, "runs per query (the median is kept)")
	flag.Parse()
	if err := run(*rows, *files, *repeats); err != nil {
		fmt.Fprintln(os.Stderr, "accel:", err)
		os.Exit(1)
	}
}

func run(rows, files, repeats int) error {
	ctx := context.Background()
	dir := filepath.Join("benchmarks", "data", "accel", fmt.Sprintf("%d-%d", rows, files))
	table := filepath.Join(dir, "t")
	if err := generate(table, rows, files); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "qry-accel-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	data := filepath.Join(work, "data")
	if err := os.CopyFS(data, os.DirFS(dir)); err != nil {
		return err
	}

	plain, closePlain, err := open(ctx, data, filepath.Join(work, "plain"), "")
	if err != nil {
		return err
	}
	mem, closeMem, err := open(ctx, data, filepath.Join(work, "mem"), engine.AccelMemory)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := mem.WaitAccelerated(ctx); err != nil {
		return err
	}
	build := time.Since(start)
	if !servedFromCopy(ctx, mem, "read from its memory copy\n") {
		return fmt.Errorf("the memory copy does not serve the table")
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("table t: %d rows in %d Parquet files, %d cores; median of %d runs\n\n", rows, files, numCPU(), repeats)
	fmt.Fprintln(tw, "query\tfiles (s)\tcopy (s)\tcopy vs files\t")
	var ratios []float64
	for _, q := range queries {
		a, err := timeQuery(ctx, plain, q.sql, repeats)
		if err != nil {
			return err
		}
		b, err := timeQuery(ctx, mem, q.sql, repeats)
		if err != nil {
			return err
		}
		ratios = append(ratios, b.Seconds()/a.Seconds())
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.2f\t\n", q.name, a.Seconds(), b.Seconds(), b.Seconds()/a.Seconds())
	}
	fmt.Fprintf(tw, "geomean\t\t\t%.2f\t\n", geomean(ratios))
	tw.Flush()
	fmt.Printf("\nbuilding the memory copy at start: %.2f s\n", build.Seconds())

	// A file added: served at once from the file, from the copy once loaded.
	extra := filepath.Join(data, "t", "part-extra.parquet")
	if err := copyFile(filepath.Join(data, "t", "part-0000.parquet"), extra); err != nil {
		return err
	}
	if err := mem.Refresh(ctx); err != nil {
		return err
	}
	found := time.Now()
	if err := mem.WaitAccelerated(ctx); err != nil {
		return err
	}
	if !servedFromCopy(ctx, mem, "read from its memory copy\n") {
		return fmt.Errorf("the added file is not served from the copy")
	}
	fmt.Printf("a file of %d rows added: served from the copy %.3f s after the refresh that found it\n", rows/files, time.Since(found).Seconds())
	closeMem()
	closePlain()

	// Disk copies: built once, then a restart serves from them at once.
	cache := filepath.Join(work, "disk")
	disk, closeDisk, err := open(ctx, data, cache, engine.AccelDisk)
	if err != nil {
		return err
	}
	start = time.Now()
	if err := disk.WaitAccelerated(ctx); err != nil {
		return err
	}
	fmt.Printf("building the disk copy: %.2f s\n", time.Since(start).Seconds())
	closeDisk()
	start = time.Now()
	again, closeAgain, err := open(ctx, data, cache, engine.AccelDisk)
	if err != nil {
		return err
	}
	defer closeAgain()
	if !servedFromCopy(ctx, again, "read from its disk copy\n") {
		return fmt.Errorf("the disk copy does not serve after a restart")
	}
	fmt.Printf("restart over the disk copy: serving from it %.2f s after the engine opened (catalog included)\n", time.Since(start).Seconds())
	if err := again.WaitAccelerated(ctx); err != nil {
		return err
	}
	fmt.Printf("files loaded again after the restart: %d\n", again.AccelStats().LoadedFiles)
	return nil
}

func open(ctx context.Context, data, cache, mode string) (*engine.Engine, func(), error) {
	cat, err := catalog.Open(ctx, catalog.Options{Data: []string{data}, CacheDir: cache})
	if err != nil {
		return nil, nil, err
	}
	opts := engine.Options{Sandbox: true, SandboxDir: cache}
	if mode != "" {
		opts.Accelerate = map[string]string{"*": mode}
	}
	e, err := engine.Open(ctx, cat, opts)
	if err != nil {
		cat.Close()
		return nil, nil, err
	}
	return e, func() { e.Close(); cat.Close() }, nil
}

func servedFromCopy(ctx context.Context, e *engine.Engine, note string) bool {
	r, err := e.Query(ctx, "EXPLAIN SELECT sum(v) FROM t")
	if err != nil {
		return false
	}
	defer r.Release()
	return strings.Contains(r.Plan().String(), note)
}

func timeQuery(ctx context.Context, e *engine.Engine, q string, repeats int) (time.Duration, error) {
	var times []time.Duration
	for i := 0; i <= repeats; i++ { // the first run warms up
		start := time.Now()
		r, err := e.Query(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", q, err)
		}
		for r.Next() {
		}
		err = r.Err()
		r.Release()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", q, err)
		}
		if i > 0 {
			times = append(times, time.Since(start))
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2], nil
}

func generate(dir string, rows, files int) error {
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	per := rows / files
	for i := range files {
		q := fmt.Sprintf(`COPY (SELECT i AS id, (hash(i) %% 1000)::INTEGER AS k, (hash(i * 7) %% 100000)::BIGINT AS v,
			(hash(i * 13) %% 10000) / 100.0 AS w, 'item-' || (hash(i * 3) %% 200000)::VARCHAR AS s
			FROM range(%d, %d) r(i)) TO '%s' (FORMAT parquet)`, i*per, (i+1)*per, filepath.Join(dir, fmt.Sprintf("part-%04d.parquet", i)))
		if _, err := db.Exec(q); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, ".done"), nil, 0o644)
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

func geomean(xs []float64) float64 {
	p := 1.0
	for _, x := range xs {
		p *= x
	}
	return math.Pow(p, 1/float64(len(xs)))
}

func numCPU() int { return runtime.NumCPU() }
