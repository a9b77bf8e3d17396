package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// run returns a query's rows and whether they came from the result cache.
func run(t *testing.T, e *engine.Engine, q string, args ...any) ([][]string, bool) {
	rows, plan := runPlan(t, e, q, args...)
	return rows, plan.Cached
}

func runPlan(t *testing.T, e *engine.Engine, q string, args ...any) ([][]string, *engine.Plan) {
	t.Helper()
	r, err := e.Query(context.Background(), q, args...)
	require.NoError(t, err, q)
	defer r.Release()
	return fixture.ArrowRows(t, r), r.Plan()
}

func TestResultCacheOverFiles(t *testing.T) {
	dir, ref := dataset(t)
	cache := t.TempDir()
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{dir}, CacheDir: cache})
	require.NoError(t, err)
	e, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, ResultCacheBytes: 1 << 20, SandboxDir: cache})
	require.NoError(t, err)
	t.Cleanup(func() { closeEngine(e) })
	for _, q := range differential {
		want := ref(q)
		got, plan := runPlan(t, e, q)
		require.Equal(t, want, got, q)
		require.False(t, plan.Cached, q)
		got, again := runPlan(t, e, q)
		require.Equal(t, want, got, q)
		// Answers from statistics cost less than a lookup: not cached.
		require.Equal(t, !plan.FromStats, again.Cached, "the same query again, nothing changed: %s", q)
	}

	// Parameters are part of the key.
	q := "SELECT count(*) FROM events WHERE score > ?"
	for _, arg := range []int{10, 20, 10} {
		got, _ := run(t, e, q, arg)
		require.Equal(t, ref(fmt.Sprintf("SELECT count(*) FROM events WHERE score > %d", arg)), got)
	}
	neverCached := func(q string) {
		t.Helper()
		for range 2 {
			_, cached := run(t, e, q)
			require.False(t, cached, q)
		}
	}
	// A statement whose answer changes by itself: DuckDB's own word on
	// each function's stability decides, whatever the spelling.
	for _, q := range []string{
		"SELECT count(*), max(random()) FROM events",
		"SELECT count(*), txid_current() FROM events",
		"SELECT count(*), \"NOW\"() FROM events",
		"SELECT count(*) FROM events WHERE id > epoch(current_timestamp) - 1e12",
		"SELECT count(*), uuid() FROM events",
		"SELECT count(*) FROM events WHERE (SELECT random()) < 2",
	} {
		neverCached(q)
	}
	// A name of such a function in a string is no call: cached.
	q = "SELECT count(*), 'random()' FROM events"
	run(t, e, q)
	_, cached := run(t, e, q)
	require.True(t, cached, q)
	// A result larger than a 16th of the cache.
	neverCached("SELECT * FROM events ORDER BY id")
	// EXPLAIN.
	neverCached("EXPLAIN SELECT count(*) FROM events")

	// A new file: once the catalog sees it, the cached answer is gone.
	count := "SELECT count(*), sum(amount) FROM events"
	run(t, e, count)
	_, cached = run(t, e, count)
	require.True(t, cached)
	db := fixture.DB(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "events", "year=2030", "region=north"), 0o755))
	fixture.Exec(t, db, "COPY (SELECT 77777 AS id, 5.5 AS amount) TO '"+
		filepath.Join(dir, "events", "year=2030", "region=north", "new.parquet")+"'")
	require.NoError(t, e.Refresh(context.Background()))
	got, cached := run(t, e, count)
	require.False(t, cached)
	require.Equal(t, ref(count), got, "the reference reads the new file too")
	require.Equal(t, "20001", got[0][0])

	st := e.CacheStats()
	require.Positive(t, st.Hits)
	require.Positive(t, st.Entries)
	require.LessOrEqual(t, st.Bytes, int64(1<<20))
}

func TestNoResultCacheUnsandboxed(t *testing.T) {
	dir, _ := dataset(t)
	e := openEngine(t, dir, engine.Options{ResultCacheBytes: 1 << 20})
	// Outside the sandbox a session has tables of its own that change
	// without the catalog knowing.
	query(t, e, "CREATE TABLE mine AS SELECT 1 AS x")
	q := "SELECT count(*) FROM mine, events WHERE id < 3"
	require.Equal(t, [][]string{{"3"}}, query(t, e, q))
	query(t, e, "INSERT INTO mine VALUES (2)")
	got, cached := run(t, e, q)
	require.False(t, cached)
	require.Equal(t, [][]string{{"6"}}, got)
}

func openWritableCached(t *testing.T, dir string) *engine.Engine {
	t.Helper()
	eng := openWritableWith(t, dir, engine.Options{ResultCacheBytes: 1 << 20})
	t.Cleanup(func() { closeEngine(eng) })
	return eng
}

func TestResultCacheOverWritableTable(t *testing.T) {
	eng := openWritableCached(t, t.TempDir())
	q := "SELECT count(*), count(value), sum(value)::DOUBLE FROM readings"
	appendRows(t, eng, 0, 100)
	got, cached := run(t, eng, q)
	require.Equal(t, [][]string{expect(100)}, got)
	require.False(t, cached)
	got, cached = run(t, eng, q)
	require.Equal(t, [][]string{expect(100)}, got)
	require.True(t, cached)

	// A write is seen at once.
	appendRows(t, eng, 100, 50)
	got, cached = run(t, eng, q)
	require.Equal(t, [][]string{expect(150)}, got)
	require.False(t, cached)
	run(t, eng, q)

	// So is a tick (same rows, now in Parquet: a new catalog version).
	require.NoError(t, eng.Tick(context.Background(), "readings"))
	got, cached = run(t, eng, q)
	require.Equal(t, [][]string{expect(150)}, got)
	require.False(t, cached)
	got, cached = run(t, eng, q)
	require.Equal(t, [][]string{expect(150)}, got)
	require.True(t, cached)
}

// Readers repeat one aggregate while a writer appends and ticks run: no
// answer may be older than the writes acknowledged before the query began.
func TestResultCacheNeverStale(t *testing.T) {
	eng := openWritableCached(t, t.TempDir())
	var acked atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			require.NoError(t, eng.Tick(context.Background(), "readings"))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var hits atomic.Int64
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				before := acked.Load()
				r, err := eng.Query(context.Background(), "SELECT count(*) FROM readings")
				if err != nil {
					errs <- err
					return
				}
				rows := fixture.ArrowRows(t, r)
				if r.Plan().Cached {
					hits.Add(1)
				}
				r.Release()
				var n int64
				if _, err := fmt.Sscan(rows[0][0], &n); err != nil {
					errs <- err
					return
				}
				if n < before {
					errs <- fmt.Errorf("stale answer: %d rows, %d acknowledged before the query", n, before)
					return
				}
			}
		}()
	}
	written := 0
	for i := range 300 {
		n := 1 + i%17
		appendRows(t, eng, written, n)
		written += n
		acked.Store(int64(written))
	}
	// With the writes done, the readers' answers stay the same and come
	// from the cache: wait for a hit, however slow the machine.
	deadline := time.Now().Add(time.Minute)
	for hits.Load() == 0 && time.Now().Before(deadline) && len(errs) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, [][]string{{fmt.Sprint(written)}}, lq(t, eng, "SELECT count(*) FROM readings"))
	require.Positive(t, hits.Load(), "readers never hit the cache: the test proved little")
}
