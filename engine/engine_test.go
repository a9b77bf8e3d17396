package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/enginetest"
	"github.com/qry-dev/qry/internal/fixture"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"))
}

// dataset makes the events set of internal/fixture (Parquet partitioned by
// year and region, a CSV, a GeoJSON file) in a directory of its own, and
// returns DuckDB's answers over the same files.
func dataset(t *testing.T) (string, func(string) [][]string) {
	t.Helper()
	dir, db := fixture.Load(t, "events")
	return dir, func(q string) [][]string { return fixture.Rows(t, db, q) }
}

// differential are the queries of testdata/queries/events.test answered by
// DuckDB over the same files (the suite runs them through every front
// end; the result cache's tests replay them).
var differential = eventsQueries()

func eventsQueries() []string {
	f, err := enginetest.ParseFile(filepath.Join("..", "testdata", "queries", "events.test"))
	if err != nil {
		panic(err)
	}
	var qs []string
	for _, r := range f.Records {
		if r.Matches && r.Params == nil {
			qs = append(qs, r.SQL)
		}
	}
	return qs
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

// TestProgressReported: a query given a progress function (the shell's
// spinner) runs its tasks from Go, reporting DuckDB's estimate; one
// without runs them inside DuckDB. Both paths stop when their context ends,
// and answer the same.
func TestProgressReported(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{MaxConns: 1})

	// The query runs for hours unless stopped: the first report (after
	// about 100 ms) cancels it, so nothing here depends on timing. Without
	// reports, the minute's timeout ends it instead, as ErrTimeout.
	limit, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	ctx, cancel := context.WithCancel(limit)
	defer cancel()
	var reports []float64
	pctx := engine.WithProgress(ctx, func(p float64) {
		reports = append(reports, p)
		cancel()
	})
	_, err := e.Query(pctx, "SELECT count(*) FROM range(10000000000) a(i) WHERE i % 7 = 3")
	require.ErrorIs(t, err, engine.ErrCanceled)
	require.NotEmpty(t, reports)
	for _, p := range reports {
		require.True(t, p == -1 || (p >= 0 && p <= 100), "progress %v", p)
	}

	// The same answer with and without a progress function: the count of
	// i < 3,000,000 with i % 7 = 3, worked out here.
	want := 0
	for i := 0; i < 3_000_000; i++ {
		if i%7 == 3 {
			want++
		}
	}
	q := "SELECT count(*) FROM range(3000000) a(i) WHERE i % 7 = 3"
	pq := engine.WithProgress(context.Background(), func(float64) {})
	rows, err := e.Query(pq, q)
	require.NoError(t, err)
	got := fixture.ArrowRows(t, rows)
	rows.Release()
	require.Equal(t, [][]string{{fmt.Sprint(want)}}, got)
	require.Equal(t, got, query(t, e, q))
}

func TestMultipleStatementsRunNothing(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{})
	_, err := e.Query(context.Background(), "CREATE TABLE sneaky AS SELECT 1 AS x; SELECT 2")
	require.ErrorIs(t, err, engine.ErrMultipleStatements)
	_, err = e.Query(context.Background(), "SELECT * FROM sneaky")
	var qe *fault.Error
	require.ErrorAs(t, err, &qe)
	require.Equal(t, fault.Catalog, qe.Kind)
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
		kind      fault.Kind
		contains  string
		line, col int
	}{
		{"SELECT * FORM events", fault.Syntax, `"events"`, 1, 15},
		{"SELECT 1,\n  count(* FROM events", fault.Syntax, `"FROM"`, 2, 11},
		{"SELECT 1 +", fault.Syntax, "end of input", 1, 11},
		{"SELECT * FROM evnets", fault.Catalog, "evnets", 1, 15},
		{"SELECT nope FROM events", fault.Binder, `"nope"`, 1, 8},
		{"SELECT nofunc(1)", fault.Catalog, "nofunc", 1, 8},
		{"SELECT 'x'::INT", fault.Invalid, "Could not convert", 1, 11},
		{"SELECT * FROM read_csv('/nonexistent/x.csv')", fault.IO, "No files found", 1, 15},
		// Positions are in runes, after comments, on the right line.
		{"-- a comment\nSELECT 'é', nope FROM events", fault.Binder, `"nope"`, 2, 13},
		// The reference to events is rewritten into a scan of the files
		// left after pruning: positions before and after it still hold.
		{"SELECT nope FROM events WHERE year = 2023", fault.Binder, `"nope"`, 1, 8},
		{"SELECT id FROM events WHERE year = 2023 AND nope = 1", fault.Binder, `"nope"`, 1, 45},
		// qry runs its own EXPLAIN prefix: the position is in the text given.
		{"explain  SELECT nope FROM events", fault.Binder, `"nope"`, 1, 17},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			_, err := e.Query(context.Background(), tc.sql)
			var qe *fault.Error
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
