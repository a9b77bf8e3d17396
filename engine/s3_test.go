package engine_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
	"github.com/qry-dev/qry/storage"
)

func openOn(t *testing.T, data string, cache string, opts engine.Options) *engine.Engine {
	t.Helper()
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{data}, CacheDir: cache, ExtensionDir: opts.ExtensionDir})
	require.NoError(t, err)
	t.Cleanup(func() { cat.Close() })
	e, err := engine.Open(context.Background(), cat, opts)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

func answer(t *testing.T, e *engine.Engine, q string) ([][]string, string) {
	t.Helper()
	rows, err := e.Query(context.Background(), q)
	require.NoError(t, err, q)
	defer rows.Release()
	got := fixture.ArrowRows(t, rows)
	return got, rows.Plan().String()
}

// A data root on object storage answers every query as a local copy of the
// same files does: same rows, same pruning, same statistics answers.
func TestObjectStorageAnswersAsLocal(t *testing.T) {
	srv := fixture.S3(t)
	srv.SetEnv(t)
	sample := fixture.Sample()
	srv.Upload(t, "lake", "sample/", sample)
	ext := fixture.ExtensionDir(t)

	queries := []string{
		"SELECT count(*), round(sum(fare), 6), min(pickup_at), max(pickup_at) FROM trips",
		"SELECT year, month, count(*) AS n, round(avg(fare), 6) AS f FROM trips GROUP BY ALL ORDER BY ALL",
		"SELECT count(*), max(fare) FROM trips WHERE year = 2024 AND month IN (1, 2)",
		"SELECT payment, count(*) FROM trips WHERE fare > 40 GROUP BY 1 ORDER BY 1",
		"SELECT * FROM weather ORDER BY ALL",
		"SELECT temp_c::VARCHAR, 1 / temp_c FROM weather WHERE day = DATE '2023-02-10'",
		"SELECT count(*) FROM trips t JOIN weather w ON t.pickup_at::DATE = w.day",
		"SELECT zone_id, name, ST_AsText(geometry) FROM zones ORDER BY zone_id",
		"SELECT count(*) FROM zones WHERE geometry && ST_GeomFromText('POLYGON((0 0, 0 50, 50 50, 50 0, 0 0))')",
	}
	for _, sandbox := range []bool{true, false} {
		opts := engine.Options{Sandbox: sandbox, ExtensionDir: ext}
		local := openOn(t, sample, t.TempDir(), opts)
		remote := openOn(t, "s3://lake/sample/", t.TempDir(), opts)
		var names []string
		for _, tb := range remote.Catalog().Snapshot().Tables {
			names = append(names, tb.Name)
			for _, f := range tb.Files {
				require.True(t, strings.HasPrefix(f.Path, "s3://lake/sample/"), f.Path)
				require.NotEmpty(t, f.ETag, f.Path)
			}
		}
		require.Equal(t, []string{"trips", "weather", "zones"}, names)
		for _, q := range queries {
			want, wantPlan := answer(t, local, q)
			got, gotPlan := answer(t, remote, q)
			require.Equal(t, want, got, q)
			require.Equal(t, wantPlan, gotPlan, q)
		}
		if sandbox {
			// The sandbox lets DuckDB read the data root's objects only,
			// and SQL never sees the credentials.
			for _, q := range []string{
				"SELECT * FROM read_parquet('s3://lake/elsewhere/x.parquet')",
				"SELECT * FROM duckdb_secrets()",
				"SELECT * FROM which_secret('s3://lake/sample/weather.csv', 's3')",
				"SELECT current_setting('s3_secret_access_key')",
			} {
				_, err := remote.Query(context.Background(), q)
				require.Error(t, err, q)
				require.Equal(t, fault.Forbidden, fault.KindOf(err), "%s: %v", q, err)
				require.NotContains(t, err.Error(), srv.Secret)
			}
		}
	}
}

// countingProxy forwards to the S3 server and counts the GET requests for
// objects (footers, ranges, whole objects); listings and HEADs are not
// counted. Requests for the key in reset have their connection cut.
type countingProxy struct {
	gets  atomic.Int64
	reset atomic.Pointer[string]
	stall atomic.Pointer[string] // requests for this key get no answer until the client gives up
	// refuseCopies answers CopyObject requests with AccessDenied.
	refuseCopies atomic.Bool
	srv          *httptest.Server
}

func newCountingProxy(t *testing.T, endpoint string) *countingProxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	require.NoError(t, err)
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The path is /bucket/key: a key has a second slash.
		if r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			p.gets.Add(1)
		}
		if k := p.stall.Load(); k != nil && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, *k) {
			<-r.Context().Done()
			return
		}
		if p.refuseCopies.Load() && r.Method == http.MethodPut && r.Header.Get("X-Amz-Copy-Source") != "" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>copies refused by the test</Message></Error>`)
			return
		}
		if k := p.reset.Load(); k != nil && strings.HasSuffix(r.URL.Path, *k) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// behindProxy starts an S3 server holding the sample at s3://lake/sample/,
// and points the test's AWS variables at a counting proxy in front of it.
func behindProxy(t *testing.T) (*fixture.S3Server, *countingProxy) {
	t.Helper()
	srv := fixture.S3(t)
	proxy := newCountingProxy(t, srv.Endpoint)
	srv.SetEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", proxy.srv.URL)
	srv.Upload(t, "lake", "sample/", fixture.Sample())
	return srv, proxy
}

// Statistics are kept by ETag: a restart reads no object again, and a
// refresh reads only the object that changed.
func TestObjectStorageStatisticsByETag(t *testing.T) {
	srv, proxy := behindProxy(t)
	sample, ext := fixture.Sample(), fixture.ExtensionDir(t)
	cache := t.TempDir()
	open := func() *catalog.Catalog {
		cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{"s3://lake/sample/"}, CacheDir: cache, ExtensionDir: ext})
		require.NoError(t, err)
		return cat
	}
	cat := open()
	trips, ok := cat.Snapshot().Table("trips")
	require.True(t, ok)
	files := len(trips.Files)
	require.GreaterOrEqual(t, proxy.gets.Load(), int64(files), "the first start reads every footer")
	cat.Close()

	proxy.gets.Store(0)
	cat = open()
	require.Zero(t, proxy.gets.Load(), "a restart reads no object")
	trips, _ = cat.Snapshot().Table("trips")
	require.Len(t, trips.Files, files)

	// One object rewritten (another ETag): a refresh reads it alone.
	changed := trips.Files[0]
	_, key := storageSplit(changed.Path)
	dir := t.TempDir()
	fixture.Exec(t, fixture.DB(t), "COPY (SELECT * FROM read_parquet('"+filepath.Join(sample, strings.TrimPrefix(key, "sample/"))+"') LIMIT 3) TO '"+filepath.Join(dir, filepath.Base(key))+"' (FORMAT parquet)")
	srv.Upload(t, "lake", strings.TrimSuffix(key, filepath.Base(key)), dir)
	proxy.gets.Store(0)
	require.NoError(t, cat.Refresh(context.Background()))
	require.Positive(t, proxy.gets.Load())
	trips, _ = cat.Snapshot().Table("trips")
	require.Equal(t, int64(3), trips.Files[0].Rows)
	require.NotEqual(t, changed.ETag, trips.Files[0].ETag)
	cat.Close()
}

func storageSplit(u string) (string, string) {
	rest := strings.TrimPrefix(u, "s3://")
	b, k, _ := strings.Cut(rest, "/")
	return b, k
}

// An object deleted, truncated, whose connection is cut or stalls after
// the catalog listed it fails the query that reads it with one line naming
// the object; the engine goes on serving, and other tables stay readable.
// Each case has an engine of its own, and its object is not the first of
// the table: an engine answers from the objects it has read already (as
// listed) without asking the server again, and it reads the first one to
// make the table's view.
func TestObjectStorageFaults(t *testing.T) {
	srv, proxy := behindProxy(t)
	sample, ext := fixture.Sample(), fixture.ExtensionDir(t)
	open := func() (*engine.Engine, *catalog.Table) {
		cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{"s3://lake/sample/"}, CacheDir: t.TempDir(), ExtensionDir: ext,
			S3: storage.Config{Timeout: time.Second}})
		require.NoError(t, err)
		t.Cleanup(func() { cat.Close() })
		e, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, ExtensionDir: ext})
		require.NoError(t, err)
		t.Cleanup(func() { e.Close() })
		trips, _ := cat.Snapshot().Table("trips")
		return e, trips
	}
	victim := func(trips *catalog.Table, i int) (string, string) {
		_, key := storageSplit(trips.Files[i].Path)
		return key, trips.Files[i].Path
	}
	scan := "SELECT count(*), round(sum(fare), 6) FROM trips"
	fails := func(e *engine.Engine, object, says string) {
		t.Helper()
		rows, err := e.Query(context.Background(), scan)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Release()
		}
		require.Error(t, err)
		t.Log(err)
		require.NotEqual(t, fault.Internal, fault.KindOf(err), "%v", err)
		require.Contains(t, err.Error(), object)
		require.Contains(t, err.Error(), "table trips")
		require.Contains(t, err.Error(), says)
		require.NotContains(t, err.Error(), "\n")
		require.NotContains(t, err.Error(), srv.Secret)
		// The engine serves on; the other table answers.
		want, _ := answer(t, openOn(t, sample, t.TempDir(), engine.Options{}), "SELECT count(*), max(temp_c) FROM weather")
		got, _ := answer(t, e, "SELECT count(*), max(temp_c) FROM weather")
		require.Equal(t, want, got)
	}

	// Cut connections.
	e, trips := open()
	key, url := victim(trips, 4)
	proxy.reset.Store(&key)
	fails(e, url, "")
	proxy.reset.Store(nil)

	// Stalled: the server answers nothing; the read times out.
	e, trips = open()
	key, url = victim(trips, 5)
	proxy.stall.Store(&key)
	fails(e, url, "")
	proxy.stall.Store(nil)

	// Truncated: half the object.
	e, trips = open()
	key, url = victim(trips, 6)
	local := filepath.Join(sample, strings.TrimPrefix(key, "sample/"))
	data, err := os.ReadFile(local)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(key)), data[:len(data)/2], 0o644))
	srv.Upload(t, "lake", strings.TrimSuffix(key, filepath.Base(key)), dir)
	fails(e, url, "changed while the query read it")
	// Whole again, so that the next case's object is the only one at fault.
	require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(key)), data, 0o644))
	srv.Upload(t, "lake", strings.TrimSuffix(key, filepath.Base(key)), dir)

	// Deleted.
	e, trips = open()
	key, url = victim(trips, 7)
	srv.Delete(t, "lake", key)
	fails(e, url, "")
}

// An object rewritten after the engine read it, or after the catalog
// listed it, is never read as its old self nor planned with its old
// statistics: the query that meets the change fails with one line, and
// the next one answers from the new version.
func TestObjectStorageRewritten(t *testing.T) {
	srv, _ := behindProxy(t)
	ext := fixture.ExtensionDir(t)
	local := t.TempDir()
	require.NoError(t, os.CopyFS(local, os.DirFS(fixture.Sample())))
	e := openOn(t, "s3://lake/sample/", t.TempDir(), engine.Options{Sandbox: true, ExtensionDir: ext})
	queries := []string{
		"SELECT count(*), round(sum(fare), 6) FROM trips",
		"SELECT count(*), min(fare), max(fare) FROM trips", // from statistics
		"SELECT count(*) FROM trips WHERE fare > 60",       // pruned
	}
	check := func() {
		t.Helper()
		ref := openOn(t, local, t.TempDir(), engine.Options{})
		for _, q := range queries {
			want, _ := answer(t, ref, q)
			got, _ := answer(t, e, q)
			require.Equal(t, want, got, q)
		}
	}
	trips, _ := e.Catalog().Snapshot().Table("trips")
	// rewrite replaces trips' i-th object (and the local copy) by its
	// first n rows.
	rewrite := func(i, n int) string {
		_, key := storageSplit(trips.Files[i].Path)
		rel := strings.TrimPrefix(key, "sample/")
		dir := t.TempDir()
		fixture.Exec(t, fixture.DB(t), fmt.Sprintf("COPY (SELECT * FROM read_parquet('%s') ORDER BY ALL LIMIT %d) TO '%s' (FORMAT parquet)",
			filepath.Join(fixture.Sample(), rel), n, filepath.Join(dir, filepath.Base(key))))
		data, err := os.ReadFile(filepath.Join(dir, filepath.Base(key)))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(local, rel), data, 0o644))
		srv.Upload(t, "lake", strings.TrimSuffix(key, filepath.Base(key)), dir)
		return trips.Files[i].Path
	}

	// Rewritten after the engine listed it, before it read it: unknown to
	// the catalog. (Objects the engine has read already it answers from
	// as listed, without a request.)
	object := rewrite(4, 3)
	rows, err := e.Query(context.Background(), queries[0])
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Release()
	}
	require.Error(t, err)
	require.Equal(t, fault.Unavailable, fault.KindOf(err), "%v", err)
	require.Equal(t, "table trips: object "+object+" changed while the query read it: run the query again", err.Error())
	check()

	// Rewritten after the engine read it, then listed by a refresh:
	// answered at once, from the new version.
	rewrite(5, 5)
	require.NoError(t, e.Refresh(context.Background()))
	check()

	// Rewritten again after the catalog listed it, before a query: the
	// table is listed again before the query plans.
	rewrite(6, 7)
	require.NoError(t, e.Catalog().Refresh(context.Background()))
	rewrite(6, 2)
	check()
}
