package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/server/httpapi"
)

// httpClient posts statements to /v1/query of qry's HTTP API on a
// loopback port and reads results as Arrow IPC streams, with a checked
// allocator.
type httpClient struct {
	url string
	web *http.Client
	mem memory.Allocator
}

func startHTTP(t *testing.T, eng *engine.Engine) frontend {
	t.Helper()
	web := httpapi.New(httpapi.Options{})
	web.SetEngine(eng)
	srv := httptest.NewServer(web)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() {
		srv.Close()
		mem.AssertSize(t, 0)
	})
	return &httpClient{url: srv.URL + "/v1/query", web: srv.Client(), mem: mem}
}

func (f *httpClient) query(ctx context.Context, sql string, params []any) (*result, error) {
	body, ctype := []byte(sql), "text/plain"
	if params != nil {
		var err error
		if body, err = json.Marshal(map[string]any{"sql": sql, "params": params}); err != nil {
			return nil, err
		}
		ctype = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/vnd.apache.arrow.stream")
	resp, err := f.web.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, httpError(resp)
	}
	rd, err := ipc.NewReader(resp.Body, ipc.WithAllocator(f.mem))
	if err != nil {
		return nil, fmt.Errorf("HTTP result: %w", err)
	}
	defer rd.Release()
	return read(rd)
}

// update posts the INSERT as a query: its answer is one row, the count.
func (f *httpClient) update(ctx context.Context, sql string, params []any) (int64, error) {
	res, err := f.query(ctx, sql, params)
	if err != nil {
		return 0, err
	}
	if len(res.rows) != 1 || len(res.rows[0]) != 1 {
		return 0, fmt.Errorf("an INSERT answered %v, not one count", res.rows)
	}
	return strconv.ParseInt(res.rows[0][0], 10, 64)
}

// httpError reads an error body; its status must be its Kind's.
func httpError(resp *http.Response) error {
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var b fault.Body
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("HTTP %d with a body that is not fault.Body: %q", resp.StatusCode, data)
	}
	fe := fault.FromBody(b)
	if _, ok := fault.Parse(b.Kind); !ok || resp.StatusCode != fe.Kind.HTTP() {
		return &fault.Error{Msg: fmt.Sprintf("HTTP %d does not go with kind %q: %s", resp.StatusCode, b.Kind, strings.TrimSpace(b.Error))}
	}
	return fe
}
