package httpapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/server/limit"
)

// maxWrite bounds one write's body: a write is held whole, so that it is
// written whole or not at all.
const maxWrite = 256 << 20

// write appends the rows of the body (an Arrow IPC stream, NDJSON, or CSV
// with a header) to a writable table as one write.
func (s *Server) write(w http.ResponseWriter, r *http.Request, eng *engine.Engine, user string) {
	name := r.PathValue("name")
	schema, ok := eng.Writable(name)
	if !ok {
		s.fail(w, r, fmt.Errorf("%s: %w", name, engine.ErrNotWritable))
		return
	}
	body := http.MaxBytesReader(w, r.Body, maxWrite)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var rr array.RecordReader
	var err error
	switch mt {
	case "application/vnd.apache.arrow.stream":
		rr, err = ipc.NewReader(body)
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/json":
		rr = array.NewJSONReader(body, schema, array.WithChunk(65536))
	case "text/csv":
		rr = csv.NewReader(body, schema, csv.WithHeader(true), csv.WithNullReader(true, ""), csv.WithChunk(65536))
	default:
		s.fail(w, r, fmt.Errorf("%w: Content-Type %q: send application/vnd.apache.arrow.stream, application/x-ndjson or text/csv", ErrRequest, r.Header.Get("Content-Type")))
		return
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %w", ErrRequest, err))
		return
	}
	defer rr.Release()
	var batches []arrow.RecordBatch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for rr.Next() {
		b := rr.RecordBatch()
		b.Retain()
		batches = append(batches, b)
	}
	if err := rr.Err(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("%w: one write may hold up to %d MiB", limit.ErrTooLarge, maxWrite>>20)
		} else {
			err = fmt.Errorf("%w: %s body, row %d or after: %w", engine.ErrWrite, mt, rowsIn(batches)+1, err)
		}
		s.fail(w, r, err)
		return
	}
	ctx := engine.WithOrigin(r.Context(), engine.Origin{Frontend: "http", User: user})
	n, err := eng.Append(ctx, name, batches)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"rows": n})
}

func rowsIn(batches []arrow.RecordBatch) int64 {
	var n int64
	for _, b := range batches {
		n += b.NumRows()
	}
	return n
}
