package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/render"
	"github.com/qry-dev/qry/server/limit"
)

// Media types of results, by render format.
var mediaTypes = map[string]string{
	"json":    "application/json",
	"ndjson":  "application/x-ndjson",
	"csv":     "text/csv; charset=utf-8",
	"arrow":   "application/vnd.apache.arrow.stream",
	"geojson": "application/geo+json",
}

// accepted maps Accept media types to render formats.
var accepted = map[string]string{
	"application/json":                    "json",
	"application/x-ndjson":                "ndjson",
	"application/ndjson":                  "ndjson",
	"application/jsonl":                   "ndjson",
	"text/csv":                            "csv",
	"application/vnd.apache.arrow.stream": "arrow",
	"application/geo+json":                "geojson",
	"*/*":                                 "json",
	"application/*":                       "json",
}

// format picks the result format: ?format= first, then the first Accept
// entry qry can produce (quality values are honoured), JSON by default.
func format(r *http.Request) (string, error) {
	if f := r.URL.Query().Get("format"); f != "" {
		if _, ok := mediaTypes[f]; ok {
			return f, nil
		}
		return "", fmt.Errorf("%w: format %q is not json, ndjson, csv, arrow or geojson", ErrNotAcceptable, f)
	}
	header := r.Header.Get("Accept")
	if strings.TrimSpace(header) == "" {
		return "json", nil
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(header, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		if f, ok := accepted[mt]; ok && q > 0 && q > bestQ {
			best, bestQ = f, q
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w (%s): ask for application/json, application/x-ndjson, text/csv, application/vnd.apache.arrow.stream or application/geo+json", ErrNotAcceptable, header)
	}
	return best, nil
}

// request is a JSON query body.
type request struct {
	SQL    string `json:"sql"`
	Params []any  `json:"params"`
}

// readRequest reads the statement and its parameters: a JSON body
// {"sql": ..., "params": [...]} or the SQL text itself.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request) (string, []any, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.opts.MaxSQLBytes)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", nil, fmt.Errorf("%w: the limit is %d bytes", limit.ErrTooLarge, s.opts.MaxSQLBytes)
		}
		return "", nil, fmt.Errorf("%w: %w", ErrRequest, err)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		return string(body), nil, nil
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", nil, fmt.Errorf("%w: JSON body: %w", ErrRequest, err)
	}
	args := make([]any, len(req.Params))
	for i, p := range req.Params {
		switch v := p.(type) {
		case json.Number:
			if n, err := v.Int64(); err == nil {
				args[i] = n
			} else if f, err := v.Float64(); err == nil {
				args[i] = f
			} else {
				return "", nil, fmt.Errorf("%w: parameter %d: %s is not a number", ErrRequest, i+1, v)
			}
		case nil, string, bool:
			args[i] = v
		default:
			return "", nil, fmt.Errorf("%w: parameter %d: want a string, number, boolean or null", ErrRequest, i+1)
		}
	}
	return req.SQL, args, nil
}

func (s *Server) query(w http.ResponseWriter, r *http.Request, eng *engine.Engine, user string) {
	f, err := format(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sql, args, err := s.readRequest(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := engine.WithOrigin(r.Context(), engine.Origin{Frontend: "http", User: user})
	if s.opts.QueryTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.QueryTimeout)
		defer cancel()
	}
	rows, err := eng.Query(ctx, sql, args...)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rows.Release()
	// The first batch decides the status: an error before it gets a proper
	// answer.
	first := rows.Next()
	if !first && rows.Err() != nil {
		s.fail(w, r, rows.Err())
		return
	}
	if err := render.Check(f, rows.Schema()); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", mediaTypes[f])
	h.Set("X-Content-Type-Options", "nosniff")
	var files, read int
	for _, t := range rows.Plan().Tables {
		files += t.Files
		read += t.Kept
	}
	h.Set("Qry-Files", strconv.Itoa(files))
	h.Set("Qry-Files-Read", strconv.Itoa(read))
	w.WriteHeader(http.StatusOK)
	rr := &peeked{Rows: rows, pending: first}
	if _, err := render.Write(ctx, w, rr, render.Options{Format: f}); err != nil {
		// Headers are gone: cut the connection so that the client sees a
		// broken response, never a short one that looks whole.
		s.log.Info("http result cut short", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// peeked replays a batch already fetched with Next.
type peeked struct {
	*engine.Rows
	pending bool
	started bool
}

var _ array.RecordReader = (*peeked)(nil)

func (p *peeked) Next() bool {
	if !p.started {
		p.started = true
		return p.pending
	}
	return p.Rows.Next()
}

func (p *peeked) Schema() *arrow.Schema { return p.Rows.Schema() }
