package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"))
}

// dataset writes Parquet (hive-partitioned, with NULLs, negatives, strings,
// dates, timestamps), CSV and GeoJSON tables into a directory, and returns a
// reference DuckDB where the same names are views over the raw files.
func dataset(t *testing.T) (string, func(string) [][]string) {
	t.Helper()
	dir := t.TempDir()
	db := fixture.DB(t)
	fixture.Exec(t, db,
		`CREATE TABLE ev AS SELECT i AS id,
		   CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 97) - 40 END AS score,
		   CASE WHEN i % 13 = 0 THEN NULL ELSE 'user' || (i % 50) END AS who,
		   DATE '2023-12-30' + (i % 5)::INT AS day,
		   TIMESTAMP '2024-01-01 00:00:00' + to_seconds(i * 37) AS ts,
		   (i % 1000) / 8.0 AS amount,
		   2022 + i % 3 AS year, ['north','south'][1 + i % 2] AS region
		 FROM range(20000) r(i)`,
		"COPY ev TO '"+filepath.Join(dir, "events")+"' (FORMAT parquet, PARTITION_BY (year, region))",
		`COPY (SELECT d::DATE AS day, round(sin(epoch(d) / 86400) * 10, 2) AS temp,
		   CASE WHEN day(d) % 4 = 0 THEN NULL ELSE 'w' || day(d) END AS note
		   FROM range(DATE '2023-12-01', DATE '2024-02-01', INTERVAL 1 DAY) r(d))
		 TO '`+filepath.Join(dir, "weather.csv")+"' (FORMAT csv, HEADER true)",
	)
	geo := `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"zone":1,"name":"A","area":1.5},"geometry":{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,1],[0,1],[0,0]]]}},
{"type":"Feature","properties":{"zone":2,"name":"B","area":null},"geometry":{"type":"Point","coordinates":[-3.5,4.25]}},
{"type":"Feature","properties":{"zone":3,"name":"C","area":7},"geometry":{"type":"LineString","coordinates":[[10,10],[12,9],[11,15]]}}
]}`
	gpath := fixture.Write(t, filepath.Join(dir, "zones.geojson"), geo)
	fixture.Exec(t, db,
		"CREATE VIEW events AS SELECT * FROM read_parquet('"+filepath.Join(dir, "events", "**", "*.parquet")+"', hive_partitioning=true)",
		"CREATE VIEW weather AS SELECT * FROM read_csv('"+filepath.Join(dir, "weather.csv")+"')",
		// properties straight from the JSON; no geometry (no spatial extension)
		`CREATE VIEW zones AS SELECT f.properties.zone::BIGINT AS zone, f.properties.name::VARCHAR AS name,
		   f.properties.area::DOUBLE AS area FROM (SELECT unnest(features) AS f FROM read_json('`+gpath+`'))`,
	)
	return dir, func(q string) [][]string { return fixture.Rows(t, db, q) }
}

func openEngine(t *testing.T, dir string, opts engine.Options) *engine.Engine {
	t.Helper()
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{dir}, CacheDir: t.TempDir()})
	require.NoError(t, err)
	e, err := engine.Open(context.Background(), cat, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		e.Close()
		cat.Close()
	})
	return e
}

func query(t *testing.T, e *engine.Engine, q string, args ...any) [][]string {
	t.Helper()
	rows, err := e.Query(context.Background(), q, args...)
	require.NoError(t, err, q)
	defer rows.Release()
	return fixture.ArrowRows(t, rows)
}

// Queries as data: each answer through qry equals DuckDB's over the raw files.
var differential = []string{
	"SELECT count(*), count(score), sum(score), min(who), max(who) FROM events",
	"SELECT year, region, count(*), sum(amount) FROM events GROUP BY ALL ORDER BY ALL",
	"SELECT id, score, who, day, ts, amount, year, region FROM events WHERE id < 30 ORDER BY id",
	"SELECT id, score, who FROM events WHERE score < -35 AND who IS NOT NULL ORDER BY id LIMIT 50",
	"SELECT day, count(*) FROM events WHERE day BETWEEN DATE '2023-12-31' AND DATE '2024-01-02' GROUP BY day ORDER BY day",
	"SELECT max(ts), min(ts) FROM events WHERE region = 'south' AND year = 2023",
	"SELECT who, count(*) FROM events WHERE who IN ('user1', 'user7') OR who LIKE 'user4%' GROUP BY who ORDER BY who",
	"SELECT * FROM weather ORDER BY day",
	"SELECT count(note), min(temp), max(temp) FROM weather WHERE day >= DATE '2024-01-01'",
	"SELECT e.day, w.temp, count(*) FROM events e JOIN weather w USING (day) GROUP BY ALL ORDER BY ALL",
	"WITH s AS (SELECT region, avg(score) a FROM events GROUP BY region) SELECT region, round(a, 6) FROM s ORDER BY region",
	"SELECT zone, name, area FROM zones ORDER BY zone",
	"SELECT count(*) FROM events WHERE id IN (SELECT zone FROM zones)",
	"SELECT who FROM events WHERE id = 3 UNION ALL SELECT name FROM zones ORDER BY 1",
}

func TestDifferential(t *testing.T) {
	dir, ref := dataset(t)
	e := openEngine(t, dir, engine.Options{})
	for _, q := range differential {
		t.Run(q, func(t *testing.T) {
			want := ref(q)
			require.NotEmpty(t, want)
			require.Equal(t, want, query(t, e, q))
		})
	}
}

func TestGeometryColumns(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{})
	// WKT and bbox are checked against the coordinates written above.
	got := query(t, e, "SELECT zone, ST_AsText(geometry), minx, miny, maxx, maxy FROM zones ORDER BY zone")
	require.Equal(t, [][]string{
		{"1", "POLYGON ((0 0, 2 0, 2 1, 0 1, 0 0))", "0.0", "0.0", "2.0", "1.0"},
		{"2", "POINT (-3.5 4.25)", "-3.5", "4.25", "-3.5", "4.25"},
		{"3", "LINESTRING (10 10, 12 9, 11 15)", "10.0", "9.0", "12.0", "15.0"},
	}, got)
	// The built-in extent test works on the column without the spatial extension.
	got = query(t, e, "SELECT zone FROM zones WHERE geometry && 'POLYGON((1 0.5, 11 0.5, 11 9.5, 1 9.5, 1 0.5))'::GEOMETRY ORDER BY zone")
	require.Equal(t, [][]string{{"1"}, {"3"}}, got)
}

func TestParameters(t *testing.T) {
	dir, ref := dataset(t)
	e := openEngine(t, dir, engine.Options{})
	want := ref("SELECT count(*) FROM events WHERE score > 10 AND who = 'user3'")
	require.Equal(t, want, query(t, e, "SELECT count(*) FROM events WHERE score > ? AND who = ?", int64(10), "user3"))
	_, err := e.Query(context.Background(), "SELECT ?::INT", 1, 2)
	require.ErrorIs(t, err, engine.ErrParams)
}

func TestResultsStream(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{MaxConns: 1})
	// A result far too large to materialize: the first batch must arrive
	// anyway, and releasing the reader must stop the query.
	rows, err := e.Query(context.Background(), "SELECT i, i * 2 FROM range(1000000000000) r(i)")
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		require.True(t, rows.Next())
		require.Positive(t, rows.RecordBatch().NumRows())
	}
	require.Less(t, rows.RowsRead(), int64(1_000_000))
	rows.Release()
	// The single connection is back in the pool.
	require.Equal(t, [][]string{{"1"}}, query(t, e, "SELECT 1"))
}

func TestCancelAndTimeout(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{MaxConns: 1})
	slow := "SELECT count(*) FROM range(10000000000) a(i) WHERE i % 7 = 3"

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	rows, err := e.Query(ctx, slow)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Release()
	}
	require.ErrorIs(t, err, engine.ErrTimeout)
	require.Less(t, time.Since(start), 5*time.Second)

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err = e.Query(ctx, slow)
	require.ErrorIs(t, err, engine.ErrCanceled)

	// A query waiting for a connection gives up with its context.
	held, err := e.Query(context.Background(), "SELECT 1")
	require.NoError(t, err)
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = e.Query(ctx, "SELECT 2")
	require.ErrorIs(t, err, engine.ErrTimeout)
	held.Release()
	require.Equal(t, [][]string{{"3"}}, query(t, e, "SELECT 3"))
}

func TestMultipleStatementsRunNothing(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{})
	_, err := e.Query(context.Background(), "CREATE TABLE sneaky AS SELECT 1 AS x; SELECT 2")
	require.ErrorIs(t, err, engine.ErrMultipleStatements)
	_, err = e.Query(context.Background(), "SELECT * FROM sneaky")
	var qe *engine.QueryError
	require.ErrorAs(t, err, &qe)
	require.Equal(t, engine.KindCatalog, qe.Kind)
	_, err = e.Query(context.Background(), "  ;  ")
	require.ErrorIs(t, err, engine.ErrEmpty)
}

func TestErrorsNameTheCulprit(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{})
	// The cases with year = 2023 run a rewritten text.
	rows, err := e.Query(context.Background(), "SELECT id FROM events WHERE year = 2023")
	require.NoError(t, err)
	require.NotContains(t, rows.Plan().SQL, "FROM events", "the reference is rewritten")
	rows.Release()
	for _, tc := range []struct {
		sql       string
		kind      engine.Kind
		contains  string
		line, col int
	}{
		{"SELECT * FORM events", engine.KindSyntax, `"events"`, 1, 15},
		{"SELECT 1,\n  count(* FROM events", engine.KindSyntax, `"FROM"`, 2, 11},
		{"SELECT 1 +", engine.KindSyntax, "end of input", 1, 11},
		{"SELECT * FROM evnets", engine.KindCatalog, "evnets", 1, 15},
		{"SELECT nope FROM events", engine.KindBinder, `"nope"`, 1, 8},
		{"SELECT nofunc(1)", engine.KindCatalog, "nofunc", 1, 8},
		{"SELECT 'x'::INT", engine.KindInvalid, "Could not convert", 1, 11},
		{"SELECT * FROM read_csv('/nonexistent/x.csv')", engine.KindIO, "No files found", 1, 15},
		// Positions are in runes, after comments, on the right line.
		{"-- a comment\nSELECT 'é', nope FROM events", engine.KindBinder, `"nope"`, 2, 13},
		// The reference to events is rewritten into a scan of the files
		// left after pruning: positions before and after it still hold.
		{"SELECT nope FROM events WHERE year = 2023", engine.KindBinder, `"nope"`, 1, 8},
		{"SELECT id FROM events WHERE year = 2023 AND nope = 1", engine.KindBinder, `"nope"`, 1, 45},
		// qry runs its own EXPLAIN prefix: the position is in the text given.
		{"explain  SELECT nope FROM events", engine.KindBinder, `"nope"`, 1, 17},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			_, err := e.Query(context.Background(), tc.sql)
			var qe *engine.QueryError
			require.True(t, errors.As(err, &qe), "%v", err)
			require.Equal(t, tc.kind, qe.Kind, qe.Error())
			require.Contains(t, qe.Error(), tc.contains)
			require.Equal(t, []int{tc.line, tc.col}, []int{qe.Line, qe.Col}, qe.Error())
			require.NotContains(t, qe.Error(), "\n")
			// DuckDB's class is the Kind, not a prefix of the message.
			require.NotContains(t, qe.Msg, " Error:")
			require.NotContains(t, qe.Msg, "{")
		})
	}
}

func TestWatchSeesNewFiles(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{})
	before := query(t, e, "SELECT count(*) FROM events")[0][0]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Watch(ctx, 20*time.Millisecond); close(done) }()
	db := fixture.DB(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "events", "year=2025", "region=north"), 0o755))
	fixture.Exec(t, db, "COPY (SELECT 99999 AS id) TO '"+
		filepath.Join(dir, "events", "year=2025", "region=north", "new.parquet")+"'")
	require.Eventually(t, func() bool {
		return query(t, e, "SELECT count(*) FROM events")[0][0] != before
	}, time.Minute, 20*time.Millisecond)
	require.Equal(t, [][]string{{"99999", "NULL"}}, query(t, e, "SELECT id, score FROM events WHERE year = 2025"))
	cancel()
	<-done
}

// A query whose context ends as it finishes must not interrupt the next
// query on the same connection.
func TestCancelDoesNotLeakIntoNextQuery(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{MaxConns: 1})
	for i := 0; i < 300; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		rows, err := e.Query(ctx, "SELECT * FROM range(100000)")
		require.NoError(t, err)
		rows.Next()
		go cancel()
		rows.Release()
		require.Equal(t, [][]string{{"1"}}, query(t, e, "SELECT 1"), "iteration %d", i)
		cancel()
	}
}
