// Command s3 benchmarks tables on object storage: qry over an s3:// data
// root against DuckDB's own read_parquet('s3://.../**/*.parquet',
// hive_partitioning = true) on the same S3 server, in the same process, and
// counts the GET requests a restart sends for objects (through a counting
// proxy in front of the server).
//
//	benchmarks/s3/run.sh [-files 2000] [-rows 4000000]
//
// run.sh builds and starts SeaweedFS (weed server -s3) and sets the AWS_*
// variables; data is generated under benchmarks/data/s3 and uploaded once
// per server.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/storage"
)

func main() {
	files := flag.Int("files", 2000, "Parquet objects (hive layout day=/bucket=)")
	rows := flag.Int("rows", 4_000_000, "rows over all objects")
	repeats := flag.Int("repeats", 3, "runs per query (best is kept)")
	ext := flag.String("extension-dir", "", "where the httpfs extension is")
	sandbox := flag.Bool("sandbox", true, "run qry's engine sandboxed, as qry serve does")
	threads := flag.Int("threads", 0, "DuckDB threads, for qry's engine and DuckDB alone (0: qry's default)")
	flag.Parse()
	if err := run(*files, *rows, *repeats, *ext, *sandbox, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "s3:", err)
		os.Exit(1)
	}
}

// proxy counts GETs of objects (not listings, not HEADs).
type proxy struct{ gets atomic.Int64 }

func (p *proxy) start(endpoint string) (*httptest.Server, error) {
	target, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			p.gets.Add(1)
		}
		rp.ServeHTTP(w, r)
	})), nil
}

func run(files, rows, repeats int, ext string, sandbox bool, threads int) error {
	ctx := context.Background()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		return fmt.Errorf("AWS_ENDPOINT_URL is not set: run benchmarks/s3/run.sh")
	}
	root := filepath.Join("benchmarks", "data", "s3", fmt.Sprintf("v1-%d-%d", files, rows))
	data := filepath.Join(root, "data")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	days := 20
	buckets := files / days
	if _, err := os.Stat(filepath.Join(root, "ok")); err != nil {
		fmt.Fprintf(os.Stderr, "generating %d Parquet files (%d rows) in %s ...\n", files, rows, data)
		if err := os.RemoveAll(root); err != nil {
			return err
		}
		if err := os.MkdirAll(data, 0o755); err != nil {
			return err
		}
		q := fmt.Sprintf(`COPY (SELECT i AS id, i // %d AS day, (i // %d) %% %d AS bucket,
		   hash(i) %% 1000000 AS user_id, (hash(i, 'v') %% 100000) / 100.0 AS amount,
		   ['a','b','c','d'][1 + (i %% 4)] AS kind FROM range(%d) r(i)) TO '%s' (FORMAT parquet, PARTITION_BY (day, bucket))`,
			rows/days, rows/(days*buckets), buckets, rows, filepath.Join(data, "events"))
		if _, err := db.Exec("SET preserve_insertion_order = false; " + q); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, "ok"), nil, 0o644); err != nil {
			return err
		}
	}
	n, err := upload(ctx, endpoint, "bench", fmt.Sprintf("v1-%d-%d/", files, rows), data)
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("s3://bench/v1-%d-%d/", files, rows)
	fmt.Printf("data: %d Parquet objects (%d rows, hive day=/bucket=) on SeaweedFS at %s; %s\n\n", n, rows, endpoint, time.Now().Format(time.DateOnly))

	// Everything goes through the counting proxy.
	var p proxy
	front, err := p.start(endpoint)
	if err != nil {
		return err
	}
	defer front.Close()
	os.Setenv("AWS_ENDPOINT_URL", front.URL)

	cache := filepath.Join(root, "cache")
	os.RemoveAll(cache)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() (*catalog.Catalog, time.Duration, int64, error) {
		p.gets.Store(0)
		t0 := time.Now()
		cat, err := catalog.Open(ctx, catalog.Options{Data: []string{prefix}, CacheDir: cache, Logger: log, ExtensionDir: ext})
		return cat, time.Since(t0), p.gets.Load(), err
	}
	cat, cold, coldGets, err := open()
	if err != nil {
		return err
	}
	cat.Close()
	cat, warm, warmGets, err := open()
	if err != nil {
		return err
	}
	p.gets.Store(0)
	t0 := time.Now()
	eng, err := engine.Open(ctx, cat, engine.Options{Sandbox: sandbox, ExtensionDir: ext, Threads: threads})
	if err != nil {
		return err
	}
	start, startGets := time.Since(t0), p.gets.Load()
	defer eng.Close()

	// DuckDB alone, on the same server, through the same proxy.
	httpfs, err := connectors.FindExtension(ext, "httpfs", engine.DuckDBVersion())
	if err != nil {
		return err
	}
	s3c, err := storage.OpenS3(ctx, storage.Config{})
	if err != nil {
		return err
	}
	secret, err := s3c.DuckDBSecret(ctx)
	if err != nil {
		return err
	}
	if threads > 0 {
		if _, err := db.Exec(fmt.Sprintf("SET threads = %d", threads)); err != nil {
			return err
		}
	}
	if _, err := db.Exec("LOAD '" + httpfs + "'; " + secret); err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	glob := fmt.Sprintf("read_parquet('%sevents/**/*.parquet', hive_partitioning = true)", prefix)
	events, ok := cat.Snapshot().Table("events")
	if !ok {
		return fmt.Errorf("no events table")
	}
	list, err := events.Scan(nil, nil) // qry's view of the table: its exact file list
	if err != nil {
		return err
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "catalog\tseconds\tobject GETs\t")
	fmt.Fprintf(w, "cold build (every footer read)\t%.2f\t%d\t\n", cold.Seconds(), coldGets)
	fmt.Fprintf(w, "warm restart (statistics by ETag)\t%.2f\t%d\t\n", warm.Seconds(), warmGets)
	fmt.Fprintf(w, "engine start (a HEAD per object, kept)\t%.2f\t%d\t\n", start.Seconds(), startGets)
	w.Flush()
	fmt.Println()

	fmt.Fprintln(w, "query\tqry s\tDuckDB glob s\tspeed-up\tfiles read\tDuckDB, qry's file list s\t")
	for _, q := range []struct{ name, sql string }{
		{"one partition", "SELECT count(*), round(sum(amount), 2) FROM %s WHERE day = 7 AND bucket = 42"},
		{"one day", "SELECT kind, count(*), round(sum(amount), 2) FROM %s WHERE day = 3 GROUP BY 1 ORDER BY 1"},
		{"full scan", "SELECT kind, count(*), round(sum(amount), 2) FROM %s GROUP BY 1 ORDER BY 1"},
	} {
		var qBest, dBest, lBest time.Duration
		var qAns, dAns, read string
		for range repeats {
			t0 := time.Now()
			ans, plan, err := qryAnswer(ctx, eng, fmt.Sprintf(q.sql, "events"))
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			if d := time.Since(t0); qBest == 0 || d < qBest {
				qBest = d
			}
			qAns, read = ans, plan
			t0 = time.Now()
			ans, err = duckAnswer(db, fmt.Sprintf(q.sql, glob))
			if err != nil {
				return fmt.Errorf("%s (duckdb): %w", q.name, err)
			}
			if d := time.Since(t0); dBest == 0 || d < dBest {
				dBest = d
			}
			dAns = ans
			t0 = time.Now()
			if _, err := duckAnswer(db, fmt.Sprintf(q.sql, list)); err != nil {
				return fmt.Errorf("%s (duckdb, list): %w", q.name, err)
			}
			if d := time.Since(t0); lBest == 0 || d < lBest {
				lBest = d
			}
		}
		if qAns != dAns {
			return fmt.Errorf("%s: answers differ:\nqry:    %s\nduckdb: %s", q.name, qAns, dAns)
		}
		fmt.Fprintf(w, "%s\t%.4f\t%.4f\t%.1fx\t%s\t%.4f\t\n", q.name, qBest.Seconds(), dBest.Seconds(), dBest.Seconds()/qBest.Seconds(), read, lBest.Seconds())
	}
	return w.Flush()
}

func qryAnswer(ctx context.Context, eng *engine.Engine, q string) (string, string, error) {
	rows, err := eng.Query(ctx, q)
	if err != nil {
		return "", "", err
	}
	defer rows.Release()
	var b strings.Builder
	for rows.Next() {
		rec := rows.RecordBatch()
		for r := range int(rec.NumRows()) {
			for c := range int(rec.NumCols()) {
				fmt.Fprintf(&b, "%s|", rec.Column(c).ValueStr(r))
			}
			b.WriteString("\n")
		}
	}
	read := "stats only"
	for _, t := range rows.Plan().Tables {
		read = fmt.Sprintf("%d / %d", t.Kept, t.Files)
	}
	return b.String(), read, rows.Err()
}

func duckAnswer(db *sql.DB, q string) (string, error) {
	rs, err := db.Query(q)
	if err != nil {
		return "", err
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var b strings.Builder
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			fmt.Fprintf(&b, "%v|", v)
		}
		b.WriteString("\n")
	}
	return b.String(), rs.Err()
}

// upload puts every file under dir at s3://bucket/prefix, unless the
// bucket already holds them; it returns the number of objects.
func upload(ctx context.Context, endpoint, bucket, prefix, dir string) (int, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return 0, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(endpoint), true })
	_, _ = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var paths []string
	if err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, path)
		}
		return err
	}); err != nil {
		return 0, err
	}
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(1)})
	if err == nil && len(list.Contents) > 0 {
		return len(paths), nil // uploaded before
	}
	fmt.Fprintf(os.Stderr, "uploading %d objects ...\n", len(paths))
	var wg sync.WaitGroup
	errs := make(chan error, len(paths))
	sem := make(chan struct{}, 16)
	for _, path := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f, err := os.Open(path)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			rel, _ := filepath.Rel(dir, path)
			_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + filepath.ToSlash(rel)), Body: f})
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return 0, err
	}
	return len(paths), nil
}
