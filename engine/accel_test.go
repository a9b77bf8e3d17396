package engine_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// accelQueries are answered by qry and by DuckDB over the files.
var accelQueries = []string{
	"SELECT count(*), round(sum(fare), 6), min(pickup_at), max(pickup_at) FROM trips",
	"SELECT year, month, count(*), round(avg(fare), 6) FROM trips GROUP BY ALL ORDER BY ALL",
	"SELECT payment, count(*) FROM trips WHERE year = 2024 AND month IN (1, 2) AND fare > 10 GROUP BY 1 ORDER BY 1",
	"SELECT * FROM weather ORDER BY ALL",
}

// openAccelerated opens a sandboxed engine over dir with every table
// accelerated in mode.
func openAccelerated(t *testing.T, dir, cache, mode string, memory int64) *engine.Engine {
	t.Helper()
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{dir}, CacheDir: cache})
	require.NoError(t, err)
	t.Cleanup(func() { cat.Close() })
	e, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, SandboxDir: cache,
		Accelerate: map[string]string{"*": mode}, AccelerateMemory: memory})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

func waitAccelerated(t *testing.T, e *engine.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, e.WaitAccelerated(ctx))
}

// filesRef is DuckDB over the files of dir as they are now.
func filesRef(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db := fixture.DB(t)
	fixture.Exec(t, db,
		"CREATE VIEW trips AS SELECT * FROM read_parquet('"+filepath.Join(dir, "trips", "**", "*.parquet")+"', hive_partitioning = true)",
		"CREATE VIEW weather AS SELECT * FROM read_csv('"+filepath.Join(dir, "weather.csv")+"')")
	return db
}

func sameAsFiles(t *testing.T, e *engine.Engine, ref *sql.DB) {
	t.Helper()
	for _, q := range accelQueries {
		got, _ := answer(t, e, q)
		require.Equal(t, fixture.Rows(t, ref, q), got, q)
	}
}

func explainOf(t *testing.T, e *engine.Engine, q string) string {
	t.Helper()
	rows := lq(t, e, "EXPLAIN "+q)
	return rows[0][1]
}

// Accelerated tables answer as their files do, before, while and after
// their copies catch up with files added, rewritten and removed; the plan
// says which read a copy.
func TestAcceleratedTablesFollowTheirFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(fixture.Sample())))
	ref := filesRef(t, dir)
	e := openAccelerated(t, dir, t.TempDir(), engine.AccelMemory, 0)
	waitAccelerated(t, e)
	st := e.AccelStats()
	require.Equal(t, 3, st.Tables, "trips, weather and zones have copies")
	require.Positive(t, st.MemoryBytes)
	sameAsFiles(t, e, ref)
	require.Contains(t, explainOf(t, e, accelQueries[0]), "trips: 24 files, 24 read, 0 pruned; read from its memory copy")
	require.Contains(t, explainOf(t, e, accelQueries[2]), "; read from its memory copy")
	require.Greater(t, e.AccelStats().Queries, st.Queries)

	// A file added, one rewritten, one removed: right at once (the copy
	// serves what it holds as listed, the files the rest), and right
	// once the copy has caught up.
	resume := engine.PauseAcceleration(e)
	db := fixture.DB(t)
	jan := filepath.Join(dir, "trips", "year=2024", "month=1", "part-0.parquet")
	added := filepath.Join(dir, "trips", "year=2025", "month=1")
	require.NoError(t, os.MkdirAll(added, 0o755))
	fixture.Exec(t, db, "COPY (SELECT * REPLACE (fare + 1000 AS fare) FROM read_parquet('"+jan+"', hive_partitioning = false)) TO '"+filepath.Join(added, "part-0.parquet")+"'")
	feb := filepath.Join(dir, "trips", "year=2024", "month=2", "part-0.parquet")
	fixture.Exec(t, db, "COPY (SELECT * REPLACE (fare * 2 AS fare) FROM read_parquet('"+feb+"', hive_partitioning = false) LIMIT 5) TO '"+feb+".new' (FORMAT parquet)")
	require.NoError(t, os.Rename(feb+".new", feb))
	require.NoError(t, os.Remove(filepath.Join(dir, "trips", "year=2023", "month=3", "part-0.parquet")))
	require.NoError(t, e.Refresh(context.Background()))
	require.Contains(t, explainOf(t, e, accelQueries[0]), "read from its memory copy (22 of 24 files; the rest from the files)")
	sameAsFiles(t, e, ref)
	resume()
	waitAccelerated(t, e)
	sameAsFiles(t, e, ref)
	require.Contains(t, explainOf(t, e, accelQueries[0]), "trips: 24 files, 24 read, 0 pruned; read from its memory copy")
}

// Disk copies survive a restart: the next engine reads them at once,
// loading nothing again.
func TestAcceleratedOnDiskSurvivesRestart(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(fixture.Sample())))
	ref := filesRef(t, dir)
	e := openAccelerated(t, dir, cache, engine.AccelDisk, 0)
	waitAccelerated(t, e)
	require.Equal(t, 3, e.AccelStats().Tables)
	require.Positive(t, e.AccelStats().LoadedFiles)
	sameAsFiles(t, e, ref)
	e.Close()

	again := openAccelerated(t, dir, cache, engine.AccelDisk, 0)
	require.Contains(t, explainOf(t, again, accelQueries[0]), "; read from its disk copy", "usable before any load")
	sameAsFiles(t, again, ref)
	waitAccelerated(t, again)
	require.Zero(t, again.AccelStats().LoadedFiles, "nothing loaded again")
	sameAsFiles(t, again, ref)
}

// A table whose copy does not fit in --accelerate-memory is read from its
// files, and the fallback is counted.
func TestAcceleratedTooBigReadsFiles(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(fixture.Sample())))
	e := openAccelerated(t, dir, t.TempDir(), engine.AccelMemory, 1024)
	waitAccelerated(t, e)
	require.Positive(t, e.AccelStats().Fallbacks)
	require.NotContains(t, explainOf(t, e, accelQueries[0]), "copy")
	sameAsFiles(t, e, filesRef(t, dir))
}

// A writable table's archive is accelerated; its live rows are read
// beside the copy, and a tick's file is read from the file until the copy
// holds it.
func TestAcceleratedWritableTable(t *testing.T) {
	dir := t.TempDir()
	eng := openWritableWith(t, dir, engine.Options{Accelerate: map[string]string{"readings": engine.AccelMemory}})
	defer closeEngine(eng)
	ticked(t, eng, 3)
	waitAccelerated(t, eng)
	require.Equal(t, expect(300), count(t, eng))
	require.Contains(t, explainOf(t, eng, "SELECT sum(value) FROM readings"), "read from its memory copy")
	resume := engine.PauseAcceleration(eng)
	appendRows(t, eng, 300, 50)
	require.Equal(t, expect(350), count(t, eng))
	require.NoError(t, eng.Tick(context.Background(), "readings"))
	appendRows(t, eng, 350, 20)
	require.Equal(t, expect(370), count(t, eng))
	require.Contains(t, explainOf(t, eng, "SELECT sum(value) FROM readings"), "(6 of 8 files; the rest from the files)")
	resume()
	waitAccelerated(t, eng)
	require.Equal(t, expect(370), count(t, eng))
	require.Contains(t, explainOf(t, eng, "SELECT sum(value) FROM readings"), "8 files, 8 read, 0 pruned; read from its memory copy")
}
