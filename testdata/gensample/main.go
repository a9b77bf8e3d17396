// Command gensample writes the bundled sample data set, deterministically:
//
//	go run ./testdata/gensample testdata/sample
//
// trips/    hive-partitioned Parquet (year=/month=), 3,000 taxi trips
// weather.csv  daily weather for the same days
// zones.geojson  12 zones (polygons, one multipolygon) that trips refer to
package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gensample DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gensample:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "?threads=1")
	if err != nil {
		return err
	}
	defer db.Close()
	stmts := []string{
		"SELECT setseed(0.42)",
		// hash-based pseudo-random values keep the output identical run to run
		`CREATE TABLE trips AS
		 WITH t AS (
		   SELECT i AS trip_id,
		          TIMESTAMP '2023-01-01 00:00:00' + to_seconds((hash(i, 'ts') % (365*2*86400))::BIGINT) AS pickup_at,
		          1 + (hash(i, 'zone') % 12)::INTEGER AS zone_id,
		          round(0.5 + (hash(i, 'dist') % 2500) / 100.0, 2) AS distance_km,
		          1 + (hash(i, 'pax') % 4)::INTEGER AS passengers,
		          ['card', 'cash', 'app'][1 + (hash(i, 'pay') % 3)::INTEGER] AS payment
		   FROM range(3000) r(i))
		 SELECT trip_id, pickup_at,
		        pickup_at + to_seconds((120 + distance_km * 150)::BIGINT) AS dropoff_at,
		        zone_id, distance_km, passengers, payment,
		        round(3.0 + distance_km * 1.8, 2) AS fare,
		        CASE WHEN payment = 'cash' THEN NULL ELSE round((hash(trip_id, 'tip') % 500) / 100.0, 2) END AS tip,
		        year(pickup_at) AS year, month(pickup_at) AS month
		 FROM t ORDER BY pickup_at`,
		fmt.Sprintf(`COPY trips TO '%s' (FORMAT parquet, PARTITION_BY (year, month), FILENAME_PATTERN 'part-{i}', COMPRESSION zstd)`,
			filepath.Join(dir, "trips")),
		fmt.Sprintf(`COPY (
		   SELECT d::DATE AS day,
		          round(-5 + 30 * (0.5 - 0.5 * cos(2 * pi() * dayofyear(d) / 365)) + (hash(d, 't') %% 60) / 10.0 - 3, 1) AS temp_c,
		          CASE WHEN hash(d, 'r') %% 3 = 0 THEN round((hash(d, 'mm') %% 300) / 10.0, 1) ELSE 0 END AS rain_mm,
		          CASE WHEN hash(d, 'r') %% 3 = 0 THEN 'rain' WHEN hash(d, 'c') %% 2 = 0 THEN 'cloudy' ELSE 'sunny' END AS sky
		   FROM range(DATE '2023-01-01', DATE '2025-01-01', INTERVAL 1 DAY) r(d)
		 ) TO '%s' (FORMAT csv, HEADER true)`, filepath.Join(dir, "weather.csv")),
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			return fmt.Errorf("%.60s: %w", s, err)
		}
	}
	return writeZones(filepath.Join(dir, "zones.geojson"))
}

// writeZones writes a 4x3 grid of square zones over central Paris; the last
// zone is a MultiPolygon of two squares.
func writeZones(path string) error {
	boroughs := []string{"North", "Centre", "South"}
	type feature struct {
		Type       string         `json:"type"`
		Properties map[string]any `json:"properties"`
		Geometry   map[string]any `json:"geometry"`
	}
	var feats []feature
	const x0, y0, step = 2.25, 48.80, 0.04
	for i := 0; i < 12; i++ {
		col, row := i%4, i/4
		minx, miny := round6(x0+float64(col)*step), round6(y0+float64(row)*step)
		maxx, maxy := round6(minx+step), round6(miny+step)
		ring := [][]float64{{minx, miny}, {maxx, miny}, {maxx, maxy}, {minx, maxy}, {minx, miny}}
		geom := map[string]any{"type": "Polygon", "coordinates": [][][]float64{ring}}
		if i == 11 {
			const half = step / 2
			midx, midy := round6(minx+half), round6(miny+half)
			a := [][]float64{{minx, miny}, {midx, miny}, {midx, midy}, {minx, midy}, {minx, miny}}
			b := [][]float64{{midx, midy}, {maxx, midy}, {maxx, maxy}, {midx, maxy}, {midx, midy}}
			geom = map[string]any{"type": "MultiPolygon", "coordinates": [][][][]float64{{a}, {b}}}
		}
		props := map[string]any{
			"zone_id": i + 1,
			"name":    fmt.Sprintf("Zone %c", 'A'+i),
			"borough": boroughs[row],
			"area_km2": func() float64 {
				if i == 11 {
					return 7.4
				}
				return 14.8
			}(),
		}
		if i%5 == 4 {
			props["note"] = "night market"
		}
		feats = append(feats, feature{Type: "Feature", Properties: props, Geometry: geom})
	}
	data, err := json.MarshalIndent(map[string]any{"type": "FeatureCollection", "features": feats}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
