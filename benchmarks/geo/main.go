// Command geo benchmarks spatial queries: qry against DuckDB with the
// spatial extension reading the same files directly, in the same process.
// benchmarks/geo/run.sh adds geopandas and prints the table.
//
//	go run -tags duckdb_arrow ./benchmarks/geo [-points 1000000] [-out results.json]
//
// Data goes to benchmarks/data/geo (generated once, reused):
//   - points/: GeoParquet, hive-partitioned by region (a 10 x 10 grid of
//     the 100 x 100 square), -points random points with an id;
//   - polys.gpkg: a GeoPackage of 1,000 rectangles tiling the square (40
//     columns of 2.5 by 25 rows of 4);
//   - tiles/: the same points as 1,000 GeoParquet files, one per
//     rectangle (tile=N/), for the bbox-selective query.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/duck"
)

// Result is one query's timings (best of the repeats, seconds) and answer.
type Result struct {
	Name   string  `json:"name"`
	Qry    float64 `json:"qry"`
	DuckDB float64 `json:"duckdb"`
	Files  string  `json:"files"`
	Answer string  `json:"answer"`
}

func main() {
	points := flag.Int("points", 1_000_000, "points")
	ext := flag.String("ext", "", "folder of DuckDB's extension builds (default: the venv's site-packages)")
	out := flag.String("out", "", "write the results as JSON here")
	repeats := flag.Int("repeats", 3, "runs per query (best is kept)")
	flag.Parse()
	if *ext == "" {
		m, _ := filepath.Glob(filepath.Join(".venv", "lib", "python3*", "site-packages"))
		if len(m) > 0 {
			*ext = m[0]
		}
	}
	if err := run(*points, *ext, *out, *repeats); err != nil {
		fmt.Fprintln(os.Stderr, "geo:", err)
		os.Exit(1)
	}
}

// The queries, over qry's tables and over the files directly.
func queries(data string) []struct{ name, qry, duck string } {
	pts := fmt.Sprintf("read_parquet('%s/points/*/*.parquet', hive_partitioning=true)", data)
	polys := fmt.Sprintf("ST_Read('%s/polys.gpkg')", data)
	tiles := fmt.Sprintf("read_parquet('%s/tiles/*/*.parquet', hive_partitioning=true)", data)
	pip := "SELECT p.pid, count(*) AS n FROM %s p JOIN %s t ON ST_Contains(p.geom, t.geom) GROUP BY p.pid ORDER BY p.pid"
	bbox := "SELECT count(*), sum(id) FROM %s WHERE ST_Intersects(geom, ST_MakeEnvelope(41.2, 52.3, 42.1, 53.9))"
	return []struct{ name, qry, duck string }{
		{"point in polygon: points per polygon", fmt.Sprintf(pip, "polys", "points"), fmt.Sprintf(pip, polys, pts)},
		{"bbox-selective count over 1,000 files", fmt.Sprintf(bbox, "tiles"), fmt.Sprintf(bbox, tiles)},
	}
}

func run(points int, ext, out string, repeats int) error {
	ctx := context.Background()
	data, err := filepath.Abs(filepath.Join("benchmarks", "data", "geo", fmt.Sprintf("p%d", points)))
	if err != nil {
		return err
	}
	spatial, err := duck.FindExtension(ext, "spatial")
	if err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("LOAD '" + spatial + "'"); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(data, "ok")); err != nil {
		if err := generate(db, data, points); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat, err := catalog.Open(ctx, catalog.Options{Data: []string{data}, CacheDir: filepath.Join(data, "..", "cache"), Logger: log, ExtensionDir: ext})
	if err != nil {
		return err
	}
	defer cat.Close()
	eng, err := engine.Open(ctx, cat, engine.Options{Sandbox: true, ExtensionDir: ext})
	if err != nil {
		return err
	}
	defer eng.Close()

	var results []Result
	for _, q := range queries(data) {
		r := Result{Name: q.name}
		var qa, da string
		for i := range repeats + 1 { // the first run warms the page cache
			start := time.Now()
			rows, err := eng.Query(ctx, q.qry)
			if err != nil {
				return fmt.Errorf("qry: %s: %w", q.name, err)
			}
			qa = drain(rows)
			rows.Release()
			if d := time.Since(start).Seconds(); i > 0 && (r.Qry == 0 || d < r.Qry) {
				r.Qry = d
			}
			start = time.Now()
			if da, err = answer(db, q.duck); err != nil {
				return fmt.Errorf("duckdb: %s: %w", q.name, err)
			}
			if d := time.Since(start).Seconds(); i > 0 && (r.DuckDB == 0 || d < r.DuckDB) {
				r.DuckDB = d
			}
		}
		if qa != da {
			return fmt.Errorf("%s: qry and DuckDB disagree:\n%.300s\n%.300s", q.name, qa, da)
		}
		r.Answer = qa
		p, err := explain(ctx, eng, q.qry)
		if err != nil {
			return err
		}
		r.Files = p
		results = append(results, r)
		fmt.Printf("%-40s qry %.3fs  DuckDB %.3fs  %s\n", q.name, r.Qry, r.DuckDB, r.Files)
	}
	if out != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	}
	return nil
}

func generate(db *sql.DB, data string, points int) error {
	fmt.Fprintf(os.Stderr, "generating %d points, 1,000 polygons and 1,000 tiles in %s ...\n", points, data)
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	for _, s := range []string{
		"SET preserve_insertion_order = false",
		fmt.Sprintf(`CREATE TEMP TABLE pts AS SELECT i AS id, random() * 100 AS x, random() * 100 AS y FROM range(%d) r(i)`, points),
		`SELECT setseed(0.42)`,
		// Rectangle c (0..999): column c % 40 (2.5 wide), row c // 40 (4 high).
		fmt.Sprintf(`COPY (SELECT id, floor(x / 10)::INT * 10 + floor(y / 10)::INT AS region, ST_Point(x, y) AS geom FROM pts)
		   TO '%s/points' (FORMAT parquet, PARTITION_BY (region))`, data),
		fmt.Sprintf(`COPY (SELECT c AS pid, ST_MakeEnvelope((c %% 40) * 2.5, (c // 40) * 4, (c %% 40 + 1) * 2.5, (c // 40 + 1) * 4) AS geom
		   FROM range(1000) r(c)) TO '%s/polys.gpkg' WITH (FORMAT GDAL, DRIVER 'GPKG', SRS 'OGC:CRS84')`, data),
		// One writer thread and every tile's file open at once: one file
		// per tile.
		"SET threads = 1",
		"SET partitioned_write_max_open_files = 2000",
		fmt.Sprintf(`COPY (SELECT id, least(floor(x / 2.5), 39)::INT + 40 * least(floor(y / 4), 24)::INT AS tile, ST_Point(x, y) AS geom FROM pts)
		   TO '%s/tiles' (FORMAT parquet, PARTITION_BY (tile))`, data),
		"RESET threads",
		"RESET partitioned_write_max_open_files",
	} {
		if _, err := db.Exec(s); err != nil {
			return fmt.Errorf("%.60s: %w", s, err)
		}
	}
	return os.WriteFile(filepath.Join(data, "ok"), nil, 0o644)
}

func explain(ctx context.Context, eng *engine.Engine, q string) (string, error) {
	rows, err := eng.Query(ctx, "EXPLAIN "+q)
	if err != nil {
		return "", err
	}
	defer rows.Release()
	var lines []string
	for rows.Next() {
		rec := rows.RecordBatch()
		if rec.NumRows() > 0 && rec.NumCols() == 2 {
			for _, l := range strings.Split(rec.Column(1).ValueStr(0), "\n") {
				if strings.Contains(l, " files, ") {
					lines = append(lines, strings.SplitN(l, ";", 2)[0])
				}
			}
			break
		}
	}
	return strings.Join(lines, "; "), rows.Err()
}

func drain(rows *engine.Rows) string {
	var out []string
	for rows.Next() {
		rec := rows.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			var row []string
			for c := 0; c < int(rec.NumCols()); c++ {
				row = append(row, strings.Clone(rec.Column(c).ValueStr(r)))
			}
			out = append(out, strings.Join(row, ","))
		}
	}
	return strings.Join(out, "|")
}

func answer(db *sql.DB, q string) (string, error) {
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
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(row, ","))
	}
	return strings.Join(out, "|"), rows.Err()
}
