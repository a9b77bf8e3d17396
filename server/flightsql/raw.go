package flightsql

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/qry-dev/qry/engine"
)

// rawService is the Flight SQL router plus plain Flight: a command or a
// ticket that is not a Flight SQL message is SQL text, and a path descriptor
// names a table. So pyarrow.flight users need nothing but SQL.
type rawService struct {
	flight.FlightServer
	srv *Server
}

const flightSQLPrefix = "type.googleapis.com/arrow.flight.protocol.sql."

// isFlightSQL reports whether b is an Any-wrapped Flight SQL message. Some
// plain strings happen to parse as an Any, so the type URL decides.
func isFlightSQL(b []byte) bool {
	var a anypb.Any
	return proto.Unmarshal(b, &a) == nil && strings.HasPrefix(a.GetTypeUrl(), flightSQLPrefix)
}

// asFlightSQL rewrites a plain descriptor to a Flight SQL statement query.
func asFlightSQL(d *flight.FlightDescriptor) (*flight.FlightDescriptor, error) {
	var sql string
	switch {
	case d.GetType() == flight.DescriptorCMD && !isFlightSQL(d.GetCmd()):
		sql = string(d.GetCmd())
	case d.GetType() == flight.DescriptorPATH:
		if len(d.GetPath()) != 1 {
			return nil, status.Error(codes.InvalidArgument, "a path descriptor names one table")
		}
		sql = "SELECT * FROM " + engine.QuoteIdent(d.GetPath()[0])
	default:
		return d, nil
	}
	a, err := anypb.New(&pb.CommandStatementQuery{Query: sql})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	cmd, err := proto.Marshal(a)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd}, nil
}

// GetFlightInfo accepts plain SQL and table paths too.
func (w *rawService) GetFlightInfo(ctx context.Context, d *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	fd, err := asFlightSQL(d)
	if err != nil {
		return nil, err
	}
	info, err := w.FlightServer.GetFlightInfo(ctx, fd)
	if err == nil && fd != d {
		info.FlightDescriptor = d
	}
	return info, err
}

// GetSchema accepts plain SQL and table paths too.
func (w *rawService) GetSchema(ctx context.Context, d *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	fd, err := asFlightSQL(d)
	if err != nil {
		return nil, err
	}
	return w.FlightServer.GetSchema(ctx, fd)
}

// DoGet accepts a ticket that is SQL text, and bounds the whole stream by
// the query timeout, even when the client stops reading. A subscription
// ticket (see SubscribeTicket) streams without end.
func (w *rawService) DoGet(t *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	if req, ok := parseSubscribe(t.GetTicket()); ok {
		return w.srv.subscribe(req, stream)
	}
	if d := w.srv.opts.QueryTimeout; d > 0 {
		ctx, cancel := context.WithTimeout(stream.Context(), d)
		defer cancel()
		stream = &boundedStream{FlightService_DoGetServer: stream, ctx: ctx}
	}
	if isFlightSQL(t.GetTicket()) {
		return w.FlightServer.DoGet(t, stream)
	}
	sql := string(t.GetTicket())
	if _, err := w.srv.describe(stream.Context(), sql); err != nil {
		return w.srv.fail("DoGet", err)
	}
	tkt, err := w.srv.ticket(stream.Context(), sql, nil, nil)
	if err != nil {
		return toStatus(err)
	}
	return w.FlightServer.DoGet(&flight.Ticket{Ticket: tkt}, stream)
}

// boundedStream gives a DoGet stream a deadline that also covers sending: a
// client that stops reading blocks a send in gRPC's flow control forever,
// so each send waits aside and is abandoned when the deadline passes; the
// handler then returns, gRPC ends the stream, and the abandoned send fails.
//
// The message is encoded on the caller's goroutine, before the send is
// handed aside: the goroutine that may be abandoned holds only bytes of its
// own, never the writer's message or buffers, which the caller reuses as
// soon as Send returns. So nothing here depends on how long a send takes.
type boundedStream struct {
	flight.FlightService_DoGetServer
	ctx    context.Context
	failed error
}

func (b *boundedStream) Context() context.Context { return b.ctx }

func (b *boundedStream) Send(d *flight.FlightData) error {
	if b.failed != nil {
		return b.failed
	}
	msg := &grpc.PreparedMsg{}
	if err := msg.Encode(b.FlightService_DoGetServer, d); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- b.SendMsg(msg) }()
	select {
	case err := <-done:
		return err
	case <-b.ctx.Done():
	}
	b.failed = status.Error(codes.DeadlineExceeded, "query timed out while the client was not reading")
	return b.failed
}
