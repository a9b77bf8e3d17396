package flightsql

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/server/limit"
)

// SubscribeRequest is a subscription ticket: a DoGet with the ticket
//
//	{"subscribe": "SELECT ... FROM t WHERE ...", "from": 1234}
//
// streams the statement's new results without end (see engine.Subscribe);
// "from" (optional) resumes after that sequence number. Each batch's
// app_metadata is {"seq": N}: the stream is complete up to sequence N.
// The first batch has no rows and says where the stream starts.
type SubscribeRequest struct {
	SQL  string  `json:"subscribe"`
	From *uint64 `json:"from,omitempty"`
}

// SubscribeTicket is the ticket of a subscription to sql, resumed after
// from when it is not nil.
func SubscribeTicket(sql string, from *uint64) []byte {
	b, _ := json.Marshal(SubscribeRequest{SQL: sql, From: from})
	return b
}

// parseSubscribe recognizes a subscription ticket (SQL text never starts
// with a brace).
func parseSubscribe(t []byte) (SubscribeRequest, bool) {
	var req SubscribeRequest
	if !bytes.HasPrefix(bytes.TrimSpace(t), []byte("{")) {
		return req, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	if dec.Decode(&req) != nil || req.SQL == "" {
		return req, false
	}
	return req, true
}

// SeqMetadata is the app_metadata of a subscription's batch.
func SeqMetadata(seq uint64) []byte { return []byte(`{"seq":` + strconv.FormatUint(seq, 10) + `}`) }

// subscribe streams a subscription until the client goes or it ends.
func (s *Server) subscribe(req SubscribeRequest, stream flight.FlightService_DoGetServer) error {
	ctx := engine.WithOrigin(stream.Context(), engine.Origin{Frontend: "flight", User: User(stream.Context())})
	if err := limit.SQL(req.SQL, s.opts.MaxSQLBytes); err != nil {
		return s.fail("DoGet", err)
	}
	sub, err := s.eng.Subscribe(ctx, req.SQL, engine.SubscribeOptions{From: req.From})
	if err != nil {
		return s.fail("DoGet", err)
	}
	defer sub.Close()
	w := flight.NewRecordWriter(stream, ipc.WithSchema(sub.Schema), ipc.WithAllocator(s.Alloc))
	defer w.Close()
	// The schema at once, and where the stream starts.
	b := array.NewRecordBuilder(s.Alloc, sub.Schema)
	first := b.NewRecordBatch()
	b.Release()
	err = w.WriteWithAppMetadata(first, SeqMetadata(sub.Start()))
	first.Release()
	if err != nil {
		return err
	}
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			if errors.Is(err, engine.ErrSubscriptionClosed) || ctx.Err() != nil {
				return nil
			}
			return s.fail("DoGet", err)
		}
		err = w.WriteWithAppMetadata(ev.Batch, SeqMetadata(ev.Seq))
		ev.Batch.Release()
		if err != nil {
			return err
		}
	}
}
