package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// openRemoteWritable opens a sandboxed engine over the readings table with
// its archive at s3://lake/readings/ and its write-ahead log in wal.
func openRemoteWritable(t *testing.T, wal, cache string) *engine.Engine {
	t.Helper()
	yaml := strings.Replace(readingsYAML, "path: readings", "path: s3://lake/readings/", 1) + "      wal: " + wal + "\n"
	cfg, err := catalog.ParseConfig([]byte(yaml))
	require.NoError(t, err)
	ext := fixture.ExtensionDir(t)
	cat, err := catalog.Open(context.Background(), catalog.Options{Config: cfg, CacheDir: cache, ExtensionDir: ext})
	require.NoError(t, err)
	eng, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, SandboxDir: cache, ExtensionDir: ext})
	require.NoError(t, err)
	return eng
}

// archived is what the archive objects alone hold, read by DuckDB from a
// downloaded copy: count, count of values, sum of values.
func archived(t *testing.T, srv *fixture.S3Server) []string {
	t.Helper()
	dir := t.TempDir()
	srv.Download(t, "lake", "readings/", dir)
	rows := fixture.Rows(t, fixture.DB(t), "SELECT count(*), count(value), sum(value)::DOUBLE FROM read_parquet('"+
		filepath.Join(dir, "*", "*.parquet")+"', hive_partitioning=true)")
	return rows[0]
}

// temporaries lists the archive's temporary objects.
func temporaries(t *testing.T, srv *fixture.S3Server) []string {
	t.Helper()
	var out []string
	for _, k := range srv.List(t, "lake", "readings/") {
		if strings.Contains(k, "/.qry-tmp-") {
			out = append(out, k)
		}
	}
	return out
}

// A writable table whose archive is on object storage: its log stays on
// local disk, each tick uploads its Parquet files, compaction merges them
// on the store, and a hand-over the store refuses is finished later, at
// the next tick or the next start, with no row lost or read twice.
func TestObjectStorageWritableTable(t *testing.T) {
	srv, proxy := behindProxy(t)
	wal, cache := t.TempDir(), t.TempDir()
	eng := openRemoteWritable(t, wal, cache)

	ticked(t, eng, 5)
	appendRows(t, eng, 500, 40) // live, in the local log
	require.Equal(t, expect(540), count(t, eng))
	require.Equal(t, expect(500), archived(t, srv), "five ticks' rows are on the store")
	keys := srv.List(t, "lake", "readings/")
	require.Len(t, keys, 10, "a file a day per tick: %v", keys)
	for _, k := range keys {
		require.Regexp(t, `^readings/day=2024-05-0[12]/part-\d{20}-\d+\.parquet$`, k)
	}

	// Compaction merges each day's files on the store.
	merged, err := eng.Compact(context.Background(), "readings")
	require.NoError(t, err)
	require.Equal(t, 10, merged)
	require.Equal(t, expect(540), count(t, eng))
	require.Eventually(t, func() bool { return len(srv.List(t, "lake", "readings/")) == 2 }, time.Minute, 50*time.Millisecond,
		"the merged files replace the small ones")
	require.Equal(t, expect(500), archived(t, srv))

	// The store refuses the hand-over's copies: the tick fails, its rows
	// stay live and are read once.
	proxy.refuseCopies.Store(true)
	err = eng.Tick(context.Background(), "readings")
	require.ErrorContains(t, err, "copy s3://lake/readings/day=2024-05-0")
	require.ErrorContains(t, err, "AccessDenied: copies refused by the test")
	t.Log(err)
	appendRows(t, eng, 540, 60)
	require.Equal(t, expect(600), count(t, eng))
	require.NotEmpty(t, temporaries(t, srv), "the uploads wait under temporary names")
	// The next tick finishes it first.
	proxy.refuseCopies.Store(false)
	require.NoError(t, eng.Tick(context.Background(), "readings"))
	require.Equal(t, expect(600), count(t, eng))
	require.Equal(t, expect(600), archived(t, srv))
	require.Empty(t, temporaries(t, srv))

	// Refused again, then the server stops: the next start finishes the
	// hand-over the journal promised, and replays nothing it archived.
	appendRows(t, eng, 600, 50)
	proxy.refuseCopies.Store(true)
	require.Error(t, eng.Tick(context.Background(), "readings"))
	appendRows(t, eng, 650, 25)
	require.Equal(t, expect(675), count(t, eng))
	closeEngine(eng)
	proxy.refuseCopies.Store(false)
	eng = openRemoteWritable(t, wal, t.TempDir())
	defer closeEngine(eng)
	require.Equal(t, expect(675), count(t, eng))
	require.Equal(t, expect(650), archived(t, srv), "the interrupted tick's files are in place")
	require.Empty(t, temporaries(t, srv))
	require.NoError(t, eng.Tick(context.Background(), "readings"))
	require.Equal(t, expect(675), archived(t, srv))
	require.Equal(t, expect(675), count(t, eng))
	perDay := lq(t, eng, "SELECT day, count(*) FROM readings GROUP BY day ORDER BY day")
	require.Equal(t, [][]string{{"2024-05-01", fmt.Sprint((675 + 1) / 2)}, {"2024-05-02", fmt.Sprint(675 / 2)}}, perDay)
}
