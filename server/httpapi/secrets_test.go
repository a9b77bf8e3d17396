package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
	"github.com/qry-dev/qry/internal/hostile"
	"github.com/qry-dev/qry/server/httpapi"
)

// TestSecretsNeverLeak posts every hostile case (internal/hostile) to a
// sandboxed server over a data root with secret files beside table t, as
// SQL text or, with parameters, as JSON; results in each format. Each must
// be answered as the case wants (403 refused, 400 a syntax error), and no
// body or log line may show the secret's marker. Then the server still
// answers t right.
func TestSecretsNeverLeak(t *testing.T) {
	p := hostile.New(t)
	var logs hostile.Log
	url, stop := startPlant(t, p, &logs)
	cwd, err := os.Getwd()
	require.NoError(t, err)
	formats := []string{"arrow", "json", "csv", "ndjson"}
	for i, c := range p.Cases(cwd) {
		t.Run(c.Class+"/"+c.Name, func(t *testing.T) {
			a, leak := postCase(t, p, url, formats[i%len(formats)], c.SQL, c.Params, i%7 == 0)
			if leak != "" {
				t.Errorf("the secret leaked (%s) for %q", leak, c.SQL)
			}
			if err := c.Check(a); err != nil {
				t.Errorf("%v\nSQL: %q params: %q", err, c.SQL, c.Params)
			}
		})
	}

	// The server still serves, and right: t as DuckDB reads its file.
	db := fixture.DB(t)
	want := fixture.Rows(t, db, "SELECT id, v FROM read_csv('"+p.TableCSV+"') ORDER BY id")
	resp := postSQL(t, url+"/v1/query?format=arrow", "text/plain", []byte("SELECT id, v FROM t ORDER BY id"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rd, err := ipc.NewReader(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, fixture.ArrowRows(t, rd))
	rd.Release()
	resp.Body.Close()
	a, leak := postCase(t, p, url, "arrow", "SELECT * FROM w", nil, false)
	require.True(t, a.OK, a.Msg)
	require.Empty(t, leak)
	p.CheckUnchanged(t)
	stop()
	require.False(t, p.Leak(logs.String()), "a log line shows the secret:\n%s", logs.String())
}

// postCase posts a statement (as JSON when it has parameters or asJSON),
// and reads the answer whole, looking for the secret.
func postCase(t *testing.T, p *hostile.Plant, url, format, sql string, params []any, asJSON bool) (hostile.Answer, string) {
	t.Helper()
	body, ctype := []byte(sql), "text/plain"
	if len(params) > 0 || asJSON {
		if params == nil {
			params = []any{}
		}
		var err error
		body, err = json.Marshal(map[string]any{"sql": sql, "params": params})
		require.NoError(t, err)
		ctype = "application/json"
	}
	resp := postSQL(t, url+"/v1/query?format="+format, ctype, body)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	var leak string
	if p.Leak(string(data)) {
		leak = "in a " + resp.Status + " body: " + string(data)
	}
	a := hostile.Answer{OK: resp.StatusCode == http.StatusOK && err == nil,
		Forbidden: resp.StatusCode == http.StatusForbidden, Invalid: resp.StatusCode == http.StatusBadRequest}
	if resp.StatusCode != http.StatusOK {
		var e fault.Body
		if json.Unmarshal(data, &e) == nil {
			a.Msg = e.Error
			a.Kind, _ = fault.Parse(e.Kind)
		} else {
			a.Msg = string(data)
		}
	} else if err != nil {
		a.Msg = err.Error()
	}
	if a.OK && format == "arrow" {
		rd, err := ipc.NewReader(bytes.NewReader(data))
		if err != nil {
			a.OK, a.Msg = false, err.Error()
			return a, leak
		}
		defer rd.Release()
		if s := p.LeakSchema(rd.Schema()); s != "" {
			leak = "in a result's schema: " + s
		}
		for rd.Next() {
			if s := p.LeakBatch(rd.RecordBatch()); s != "" {
				leak = "in a result: " + s
			}
		}
	}
	return a, leak
}

func postSQL(t *testing.T, url, ctype string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

// startPlant serves a plant's catalog (t, and the writable table w) over
// HTTP, sandboxed as qry serve runs, logging to logs.
func startPlant(t *testing.T, p *hostile.Plant, logs *hostile.Log) (string, func()) {
	t.Helper()
	cache := t.TempDir()
	co := p.CatalogOptions(t, cache)
	co.Logger = logs.Logger()
	cat, err := catalog.Open(context.Background(), co)
	require.NoError(t, err)
	eng, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, SandboxDir: cache, MaxConns: 4,
		MemoryLimit: "512MB", MaxResultRows: 100000, Logger: logs.Logger()})
	require.NoError(t, err)
	web := httpapi.New(httpapi.Options{QueryTimeout: 10 * time.Second, Logger: logs.Logger()})
	web.SetEngine(eng)
	ts := httptest.NewServer(web)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			ts.Close()
			eng.Close()
			cat.Close()
		}
	}
	t.Cleanup(stop)
	return ts.URL, stop
}
