package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/render"
	"github.com/qry-dev/qry/server/limit"
)

// subscribe serves GET /v1/subscribe?sql=...[&from=N] as Server-Sent
// Events: first "start" (data {"seq": N}: where the stream starts), then
// one "rows" event per batch, its id the sequence number the stream is
// complete up to and its data lines the rows as JSON objects (NDJSON). A
// client resumes with ?from= or the Last-Event-ID header browsers send.
// The stream ends with an "error" event (data: the error's JSON body with
// "resume") when the subscription fails, or a slow client is cut off.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request, eng *engine.Engine, user string) {
	q := r.URL.Query().Get("sql")
	if q == "" {
		s.fail(w, r, fmt.Errorf("%w: sql is missing (GET /v1/subscribe?sql=SELECT ...)", ErrRequest))
		return
	}
	if err := limit.SQL(q, s.opts.MaxSQLBytes); err != nil {
		s.fail(w, r, err)
		return
	}
	var opts engine.SubscribeOptions
	from := r.URL.Query().Get("from")
	if from == "" {
		from = r.Header.Get("Last-Event-ID")
	}
	if from != "" {
		n, err := strconv.ParseUint(strings.TrimSpace(from), 10, 64)
		if err != nil {
			s.fail(w, r, fmt.Errorf("%w: from %q is not a sequence number", ErrRequest, from))
			return
		}
		opts.From = &n
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, errors.New("streaming not supported by this connection"))
		return
	}
	ctx := engine.WithOrigin(r.Context(), engine.Origin{Frontend: "http", User: user})
	sub, err := eng.Subscribe(ctx, q, opts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer sub.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	seq := sub.Start()
	fmt.Fprintf(bw, "event: start\nid: %d\ndata: {\"seq\":%d}\n\n", seq, seq)
	if bw.Flush() != nil {
		return
	}
	flusher.Flush()
	var rows bytes.Buffer
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			if errors.Is(err, engine.ErrSubscriptionClosed) || ctx.Err() != nil {
				return
			}
			body := fault.BodyOf(err)
			resume := seq
			var slow *engine.SlowError
			if errors.As(err, &slow) {
				resume = slow.Resume
			}
			data, _ := json.Marshal(struct {
				fault.Body
				Resume uint64 `json:"resume"`
			}{body, resume})
			fmt.Fprintf(bw, "event: error\ndata: %s\n\n", data)
			_ = bw.Flush()
			flusher.Flush()
			return
		}
		rows.Reset()
		err = render.JSONRows(&rows, ev.Batch)
		ev.Batch.Release()
		if err != nil {
			return
		}
		seq = ev.Seq
		fmt.Fprintf(bw, "event: rows\nid: %d\n", seq)
		for _, line := range bytes.Split(bytes.TrimSuffix(rows.Bytes(), []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			bw.WriteString("data: ")
			bw.Write(line)
			bw.WriteByte('\n')
		}
		bw.WriteByte('\n')
		if bw.Flush() != nil {
			return
		}
		flusher.Flush()
	}
}
