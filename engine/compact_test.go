package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

func archiveFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "readings", "day=*", "*.parquet"))
	require.NoError(t, err)
	return files
}

// ticked writes rounds of 100 rows, each archived by its own tick: two
// small files (one per day) a round.
func ticked(t *testing.T, eng *engine.Engine, rounds int) {
	t.Helper()
	for i := range rounds {
		appendRows(t, eng, i*100, 100)
		require.NoError(t, eng.Tick(context.Background(), "readings"))
	}
}

func TestCompactionMergesSmallFiles(t *testing.T) {
	dir := t.TempDir()
	eng := openWritable(t, dir)
	ticked(t, eng, 12)
	require.Len(t, archiveFiles(t, dir), 24)
	want := expect(1200)
	require.Equal(t, want, count(t, eng))
	perDay := lq(t, eng, "SELECT day, count(*), sum(value)::DOUBLE FROM readings GROUP BY day ORDER BY day")

	// A query that started before the swap keeps reading the old files.
	early, err := eng.Query(context.Background(), "SELECT count(*), count(value), sum(value)::DOUBLE FROM readings")
	require.NoError(t, err)

	// Readers during the compaction see every row once, always.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan []string, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := eng.Query(context.Background(), "SELECT count(*), count(value), sum(value)::DOUBLE FROM readings")
				if err != nil {
					errs <- []string{err.Error()}
					return
				}
				got := fixture.ArrowRows(t, r)[0]
				r.Release()
				if !equal(got, want) {
					errs <- got
					return
				}
			}
		}()
	}
	merged, err := eng.Compact(context.Background(), "readings")
	require.NoError(t, err)
	require.Equal(t, 24, merged)
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for got := range errs {
		require.Equal(t, want, got, "a reader saw another count during compaction")
	}

	snap, ok := eng.Catalog().Snapshot().Table("readings")
	require.True(t, ok)
	require.Len(t, snap.Files, 2, "one file a day")
	// The old files wait for the early query.
	require.Len(t, archiveFiles(t, dir), 26)
	require.Equal(t, [][]string{want}, fixture.ArrowRows(t, early))
	early.Release()
	require.Eventually(t, func() bool { return len(archiveFiles(t, dir)) == 2 }, time.Minute, 10*time.Millisecond)

	require.Equal(t, want, count(t, eng))
	require.Equal(t, perDay, lq(t, eng, "SELECT day, count(*), sum(value)::DOUBLE FROM readings GROUP BY day ORDER BY day"))
	db := fixture.DB(t)
	raw := fixture.Rows(t, db, "SELECT count(*), count(value), sum(value)::DOUBLE FROM read_parquet('"+filepath.Join(dir, "readings", "*", "*.parquet")+"', hive_partitioning=true)")
	require.Equal(t, want, raw[0], "the merged files alone hold every row")
	// Rows keep their write order inside the merged file.
	order := fixture.Rows(t, db, "SELECT count(*) FROM (SELECT value, lag(value) OVER () AS prev FROM read_parquet('"+
		filepath.Join(dir, "readings", "day=2024-05-01", "*.parquet")+"') WHERE value IS NOT NULL) WHERE prev > value")
	require.Equal(t, [][]string{{"0"}}, order)

	// Nothing more to merge until small files gather again.
	merged, err = eng.Compact(context.Background(), "readings")
	require.NoError(t, err)
	require.Zero(t, merged)
	closeEngine(eng)
	eng = openWritable(t, dir)
	defer closeEngine(eng)
	require.Equal(t, want, count(t, eng))
}

// Old files still awaiting a reader when the server dies are listed in the
// journal: the next start removes them, and no row counts twice. The crash
// is a copy of the table's directory taken at that moment.
func TestCompactionFinishesAfterCrash(t *testing.T) {
	dir := t.TempDir()
	eng := openWritable(t, dir)
	defer closeEngine(eng)
	ticked(t, eng, 5)
	appendRows(t, eng, 500, 30) // live rows too, in the log
	want := expect(530)
	early, err := eng.Query(context.Background(), "SELECT count(*) FROM readings")
	require.NoError(t, err)
	defer early.Release()
	_, err = eng.Compact(context.Background(), "readings")
	require.NoError(t, err)
	require.Len(t, archiveFiles(t, dir), 12, "10 old files wait for the early query beside 2 merged ones")

	crashed := t.TempDir()
	require.NoError(t, os.CopyFS(filepath.Join(crashed, "readings"), os.DirFS(filepath.Join(dir, "readings"))))
	require.Len(t, archiveFiles(t, crashed), 12)
	again := openWritable(t, crashed)
	defer closeEngine(again)
	require.Len(t, archiveFiles(t, crashed), 2)
	require.Equal(t, want, count(t, again))
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
