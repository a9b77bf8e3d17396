package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
	"github.com/qry-dev/qry/server/auth"
	"github.com/qry-dev/qry/server/httpapi"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"))
}

type env struct {
	url     string
	web     *httpapi.Server
	metrics *httpapi.Metrics
	db      *sql.DB
}

// start serves the sample data over HTTP with a real engine, and a DuckDB of
// the test's own reading the same files.
func start(t *testing.T, eo engine.Options, opts httpapi.Options) *env {
	t.Helper()
	cache := t.TempDir()
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{fixture.Sample()}, CacheDir: cache})
	require.NoError(t, err)
	m := httpapi.NewMetrics()
	eo.SandboxDir = cache
	eo.OnQueryDone = m.Observe
	eng, err := engine.Open(context.Background(), cat, eo)
	require.NoError(t, err)
	m.WatchEngine(eng)
	opts.Metrics = m
	web := httpapi.New(opts)
	web.SetEngine(eng)
	ts := httptest.NewServer(web)
	t.Cleanup(func() {
		ts.Close()
		eng.Close()
		cat.Close()
	})
	_, db := fixture.Load(t, "sample")
	return &env{url: ts.URL, web: web, metrics: m, db: db}
}

func (e *env) post(t *testing.T, path, accept, contentType, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(body))
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

// refQuery covers integers, doubles, strings, timestamps, dates and NULLs.
const refQuery = `SELECT t.trip_id, t.pickup_at, t.zone_id, t.fare, t.payment, t.year, w.day, w.sky,
  CASE WHEN t.trip_id % 7 = 0 THEN NULL ELSE t.tip END AS tip
FROM trips t LEFT JOIN weather w ON w.day = CAST(t.pickup_at AS DATE)
WHERE t.month IN (1, 2) ORDER BY t.trip_id`

// roundTrip reads a result body back with DuckDB, with the column types of
// the reference query, and returns canonical rows.
func (e *env) roundTrip(t *testing.T, body []byte, reader string) [][]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "result")
	require.NoError(t, os.WriteFile(path, body, 0o600))
	var cols []string
	for _, r := range fixture.Rows(t, e.db, "SELECT column_name, column_type FROM (DESCRIBE "+refQuery+")") {
		cols = append(cols, fmt.Sprintf("'%s': '%s'", r[0], r[1]))
	}
	return fixture.Rows(t, e.db, fmt.Sprintf("SELECT * FROM %s('%s', columns={%s})", reader, path, strings.Join(cols, ", ")))
}

func TestQueryFormats(t *testing.T) {
	e := start(t, engine.Options{Sandbox: true}, httpapi.Options{})
	want := fixture.Rows(t, e.db, refQuery)
	require.Greater(t, len(want), 100)

	t.Run("arrow", func(t *testing.T) {
		resp := e.post(t, "/v1/query", "application/vnd.apache.arrow.stream", "text/plain", refQuery)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "application/vnd.apache.arrow.stream", resp.Header.Get("Content-Type"))
		rd, err := ipc.NewReader(resp.Body)
		require.NoError(t, err)
		defer rd.Release()
		require.Equal(t, want, fixture.ArrowRows(t, rd))
	})
	for _, c := range []struct{ name, accept, reader, ctype string }{
		{"csv", "text/csv", "read_csv", "text/csv"},
		{"json", "application/json", "read_json", "application/json"},
		{"ndjson", "application/x-ndjson", "read_ndjson", "application/x-ndjson"},
		{"default is json", "", "read_json", "application/json"},
		{"quality values", "text/html;q=0.9, text/csv;q=0.5, application/x-ndjson;q=0.8", "read_ndjson", "application/x-ndjson"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := e.post(t, "/v1/query", c.accept, "", refQuery)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype), resp.Header.Get("Content-Type"))
			require.Equal(t, want, e.roundTrip(t, readAll(t, resp), c.reader))
		})
	}
	t.Run("format parameter", func(t *testing.T) {
		resp := e.post(t, "/v1/query?format=csv", "application/json", "", refQuery)
		require.Equal(t, want, e.roundTrip(t, readAll(t, resp), "read_csv"))
	})
	t.Run("json body with parameters", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"sql": "SELECT trip_id, payment FROM trips WHERE zone_id = $1 AND payment = $2 ORDER BY trip_id", "params": []any{3, "card"}})
		resp := e.post(t, "/v1/query", "application/x-ndjson", "application/json", string(body))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var got [][]string
		dec := json.NewDecoder(resp.Body)
		for dec.More() {
			var row struct {
				TripID  int64  `json:"trip_id"`
				Payment string `json:"payment"`
			}
			require.NoError(t, dec.Decode(&row))
			got = append(got, []string{fmt.Sprint(row.TripID), row.Payment})
		}
		ref := fixture.Rows(t, e.db, "SELECT trip_id, payment FROM trips WHERE zone_id = 3 AND payment = 'card' ORDER BY trip_id")
		require.NotEmpty(t, ref)
		require.Equal(t, ref, got)
	})
	t.Run("empty result", func(t *testing.T) {
		resp := e.post(t, "/v1/query", "application/json", "", "SELECT * FROM trips WHERE fare < 0")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var rows []map[string]any
		require.NoError(t, json.Unmarshal(readAll(t, resp), &rows))
		require.Empty(t, rows)
	})
}

// Errors of the request and its limits. (Errors in SQL are in the query
// suite, testdata/queries.)
func TestQueryErrors(t *testing.T) {
	tokens, err := auth.ParseTokens("alice:" + strings.Repeat("a", 20))
	require.NoError(t, err)
	e := start(t, engine.Options{Sandbox: true, MaxResultRows: 100_000},
		httpapi.Options{Tokens: tokens, MaxSQLBytes: 4096, QueryTimeout: 2 * time.Second})
	bearer := []string{"Authorization", "Bearer " + strings.Repeat("a", 20)}
	for _, c := range []struct {
		name, accept, body string
		header             []string
		status             int
		contains           string
	}{
		{"no token", "", "SELECT 1", nil, http.StatusUnauthorized, "token"},
		{"wrong token", "", "SELECT 1", []string{"Authorization", "Bearer " + strings.Repeat("b", 20)}, http.StatusUnauthorized, "token"},
		{"too long", "", "SELECT '" + strings.Repeat("x", 5000) + "'", bearer, http.StatusRequestEntityTooLarge, "4096"},
		{"unacceptable", "image/png", "SELECT 1", bearer, http.StatusNotAcceptable, "text/csv"},
		{"timeout", "", "SELECT count(*) FROM range(100000000000) a", bearer, http.StatusGatewayTimeout, "timed out"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := e.post(t, "/v1/query", c.accept, "text/plain", c.body, c.header...)
			require.Equal(t, c.status, resp.StatusCode)
			var body struct{ Error string }
			require.NoError(t, json.Unmarshal(readAll(t, resp), &body))
			require.Contains(t, body.Error, c.contains)
		})
	}
	t.Run("syntax error position", func(t *testing.T) {
		resp := e.post(t, "/v1/query", "", "", "SELECT 1,\n  2 FROM FROM", bearer...)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		var body fault.Body
		require.NoError(t, json.Unmarshal(readAll(t, resp), &body))
		require.Equal(t, "syntax", body.Kind)
		require.Equal(t, []int{2, 10}, []int{body.Line, body.Column}, body.Error)
		require.Contains(t, body.Error, `syntax error at or near "FROM"`)
	})
	t.Run("binder error position", func(t *testing.T) {
		resp := e.post(t, "/v1/query", "", "", "SELECT fare, nope FROM trips", bearer...)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
		var body fault.Body
		require.NoError(t, json.Unmarshal(readAll(t, resp), &body))
		require.Equal(t, fault.Body{Error: body.Error, Kind: "binder", Line: 1, Column: 14}, body)
		require.Contains(t, body.Error, `"nope"`)
	})
	t.Run("basic auth", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/query", strings.NewReader("SELECT 41 + 1 AS x"))
		req.SetBasicAuth("alice", strings.Repeat("a", 20))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.JSONEq(t, `[{"x": 42}]`, string(readAll(t, resp)))
	})
	t.Run("a result cut short is not whole", func(t *testing.T) {
		// Past the row limit after the first batch: the status is sent, so
		// the connection is cut and the client must see an error.
		resp := e.post(t, "/v1/query", "text/csv", "", "SELECT * FROM range(1000000)", bearer...)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		_, err := io.ReadAll(resp.Body)
		require.Error(t, err)
	})
	t.Run("still serving", func(t *testing.T) {
		resp := e.post(t, "/v1/query", "text/csv", "", "SELECT count(*) AS n FROM trips", bearer...)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		want := fixture.Rows(t, e.db, "SELECT count(*) FROM trips")[0][0]
		require.Equal(t, "n\n"+want+"\n", string(readAll(t, resp)))
	})
	t.Run("probes and metrics need no token", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			resp, err := http.Get(e.url + p)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, p)
		}
	})
}

func TestTables(t *testing.T) {
	e := start(t, engine.Options{Sandbox: true}, httpapi.Options{})
	resp, err := http.Get(e.url + "/v1/tables")
	require.NoError(t, err)
	defer resp.Body.Close()
	var list struct {
		Tables []struct {
			Name   string
			Format string
			Files  int
			Rows   int64
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	require.Len(t, list.Tables, 3)
	require.Equal(t, "trips", list.Tables[0].Name)
	require.Equal(t, "parquet", list.Tables[0].Format)
	files, err := filepath.Glob(filepath.Join(fixture.Sample(), "trips", "*", "*", "*.parquet"))
	require.NoError(t, err)
	require.Equal(t, len(files), list.Tables[0].Files)
	require.Equal(t, fixture.Rows(t, e.db, "SELECT count(*) FROM trips")[0][0], fmt.Sprint(list.Tables[0].Rows))

	resp2, err := http.Get(e.url + "/v1/tables/weather")
	require.NoError(t, err)
	defer resp2.Body.Close()
	var detail struct {
		Name   string
		Schema []struct{ Name, Type string }
	}
	require.NoError(t, json.NewDecoder(resp2.Body).Decode(&detail))
	var got [][]string
	for _, c := range detail.Schema {
		got = append(got, []string{c.Name, c.Type})
	}
	require.Equal(t, fixture.Rows(t, e.db, "SELECT column_name, column_type FROM (DESCRIBE weather)"), got)

	resp3, err := http.Get(e.url + "/v1/tables/nope")
	require.NoError(t, err)
	resp3.Body.Close()
	require.Equal(t, http.StatusNotFound, resp3.StatusCode)
}

func TestReadiness(t *testing.T) {
	web := httpapi.New(httpapi.Options{})
	ts := httptest.NewServer(web)
	defer ts.Close()
	status := func(path string) int {
		resp, err := http.Get(ts.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, status("/healthz"))
	require.Equal(t, http.StatusServiceUnavailable, status("/readyz"), "no catalog yet")
	resp, err := http.Post(ts.URL+"/v1/query", "text/plain", strings.NewReader("SELECT 1"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{fixture.Sample()}, CacheDir: t.TempDir()})
	require.NoError(t, err)
	defer cat.Close()
	eng, err := engine.Open(context.Background(), cat, engine.Options{})
	require.NoError(t, err)
	defer eng.Close()
	web.SetEngine(eng)
	require.Equal(t, http.StatusOK, status("/readyz"))
	web.Drain()
	require.Equal(t, http.StatusServiceUnavailable, status("/readyz"), "draining")
	require.Equal(t, http.StatusOK, status("/healthz"))
}

// scrape parses /metrics with Prometheus's text parser.
func (e *env) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(e.url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value finds a sample's value by its labels (nil: the family's only
// sample); -1 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	fam, ok := fams[name]
	if !ok {
		return -1
	}
next:
	for _, m := range fam.GetMetric() {
		for k, v := range labels {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == k && l.GetValue() == v)
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

func TestMetrics(t *testing.T) {
	e := start(t, engine.Options{Sandbox: true}, httpapi.Options{})
	before := e.scrape(t)
	ok := map[string]string{"frontend": "http", "status": "ok"}
	require.Equal(t, -1.0, value(before, "qry_queries_total", ok), "no query yet")
	files, err := filepath.Glob(filepath.Join(fixture.Sample(), "trips", "*", "*", "*.parquet"))
	require.NoError(t, err)
	require.Equal(t, float64(len(files)+2), value(before, "qry_catalog_files", nil), "trips, weather.csv and zones.geojson")
	require.Equal(t, 3.0, value(before, "qry_catalog_tables", nil))
	require.Equal(t, 1.0, value(before, "qry_catalog_last_refresh_success", nil))

	// One pruned query, one failed, one refused.
	resp := e.post(t, "/v1/query", "text/csv", "", "SELECT trip_id FROM trips WHERE year = 2024 AND month = 3")
	body := readAll(t, resp)
	rows := int64(bytes.Count(body, []byte("\n")) - 1)
	want := fixture.Rows(t, e.db, "SELECT count(*) FROM trips WHERE year = 2024 AND month = 3")[0][0]
	require.Equal(t, want, fmt.Sprint(rows))
	readAll(t, e.post(t, "/v1/query", "", "", "SELECT * FROM nope"))
	readAll(t, e.post(t, "/v1/query", "", "", "SELECT * FROM read_parquet('/etc/x.parquet')"))

	after := e.scrape(t)
	require.Equal(t, 1.0, value(after, "qry_queries_total", ok))
	require.Equal(t, 1.0, value(after, "qry_queries_total", map[string]string{"frontend": "http", "status": "invalid"}))
	require.Equal(t, 1.0, value(after, "qry_queries_total", map[string]string{"frontend": "http", "status": "forbidden"}))
	require.Equal(t, 3.0, value(after, "qry_query_duration_seconds", map[string]string{"frontend": "http"}))
	require.Equal(t, float64(rows), value(after, "qry_result_rows_total", map[string]string{"frontend": "http"}))
	// One month of the 24 partitions is read; the other 23 are pruned.
	require.Equal(t, 1.0, value(after, "qry_files_total", map[string]string{"outcome": "scanned"}))
	require.Equal(t, float64(len(files)-1), value(after, "qry_files_total", map[string]string{"outcome": "pruned"}))
	require.Equal(t, 0.0, value(after, "qry_queries_running", nil))
	require.Greater(t, value(after, "go_goroutines", nil), 0.0)
}
