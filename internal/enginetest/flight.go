package enginetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	fsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/server/flightsql"
)

// flightClient is arrow-go's Flight SQL client against qry's Flight SQL
// server on a loopback port; both allocate from one checked allocator,
// back to zero once the server has stopped.
type flightClient struct {
	client *fsql.Client
	mem    memory.Allocator
}

func startFlight(t *testing.T, eng *engine.Engine) frontend {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	srv, err := flightsql.New(eng, flightsql.Options{Alloc: mem, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- flightsql.Serve(ctx, srv, flightsql.ServeOptions{Addr: "127.0.0.1:0", Ready: func(a net.Addr) { ready <- a }})
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("flight server: %v", err)
	}
	cl, err := fsql.NewClient(addr.String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cl.Alloc = mem
	t.Cleanup(func() {
		cl.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("flight server: %v", err)
		}
		mem.AssertSize(t, 0)
	})
	return &flightClient{client: cl, mem: mem}
}

func (f *flightClient) query(ctx context.Context, sql string, params []any) (*result, error) {
	var info *flight.FlightInfo
	var err error
	if params == nil {
		info, err = f.client.Execute(ctx, sql)
	} else {
		var prep *fsql.PreparedStatement
		if prep, err = f.prepare(ctx, sql, params); err != nil {
			return nil, err
		}
		defer prep.Close(ctx)
		info, err = prep.Execute(ctx)
	}
	if err != nil {
		return nil, remote(err)
	}
	var schema *arrow.Schema
	if len(info.Schema) > 0 {
		if schema, err = flight.DeserializeSchema(info.Schema, f.mem); err != nil {
			return nil, err
		}
	}
	res := &result{schema: schema}
	for _, ep := range info.Endpoint {
		rd, err := f.client.DoGet(ctx, ep.Ticket)
		if err != nil {
			return nil, remote(err)
		}
		part, err := read(rd)
		rd.Release()
		if err != nil {
			return nil, remote(err)
		}
		if res.schema != nil && !res.schema.Equal(part.schema) {
			return nil, fmt.Errorf("FlightInfo schema %s != stream schema %s", res.schema, part.schema)
		}
		res.schema = part.schema
		res.rows = append(res.rows, part.rows...)
	}
	return res, nil
}

func (f *flightClient) update(ctx context.Context, sql string, params []any) (int64, error) {
	if params == nil {
		n, err := f.client.ExecuteUpdate(ctx, sql)
		return n, remote(err)
	}
	prep, err := f.prepare(ctx, sql, params)
	if err != nil {
		return 0, err
	}
	defer prep.Close(ctx)
	n, err := prep.ExecuteUpdate(ctx)
	return n, remote(err)
}

// prepare prepares sql and binds one row of parameters.
func (f *flightClient) prepare(ctx context.Context, sql string, params []any) (*fsql.PreparedStatement, error) {
	prep, err := f.client.Prepare(ctx, sql)
	if err != nil {
		return nil, remote(err)
	}
	batch, err := paramBatch(f.mem, params)
	if err != nil {
		prep.Close(ctx)
		return nil, err
	}
	prep.SetParameters(batch)
	batch.Release()
	return prep, nil
}

// paramBatch is one row of parameters named $1, $2, ...
func paramBatch(mem memory.Allocator, params []any) (arrow.RecordBatch, error) {
	fields := make([]arrow.Field, len(params))
	for i, p := range params {
		fields[i] = arrow.Field{Name: "$" + strconv.Itoa(i+1), Nullable: true}
		switch p.(type) {
		case nil:
			fields[i].Type = arrow.Null
		case bool:
			fields[i].Type = arrow.FixedWidthTypes.Boolean
		case int64:
			fields[i].Type = arrow.PrimitiveTypes.Int64
		case float64:
			fields[i].Type = arrow.PrimitiveTypes.Float64
		case string:
			fields[i].Type = arrow.BinaryTypes.String
		default:
			return nil, fmt.Errorf("parameter %d: %T", i+1, p)
		}
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i, p := range params {
		switch v := p.(type) {
		case nil:
			b.Field(i).AppendNull()
		case bool:
			b.Field(i).(*array.BooleanBuilder).Append(v)
		case int64:
			b.Field(i).(*array.Int64Builder).Append(v)
		case float64:
			b.Field(i).(*array.Float64Builder).Append(v)
		case string:
			b.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecordBatch(), nil
}

// remote turns a gRPC status into the *fault.Error it carries. The
// status must hold qry's ErrorInfo, and its code must be its Kind's.
func remote(err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	detailed := false
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == fault.Domain {
			detailed = true
		}
	}
	var fe *fault.Error
	if !errors.As(fault.FromStatus(err), &fe) {
		return err
	}
	switch {
	case !detailed:
		return &fault.Error{Msg: fmt.Sprintf("gRPC status %s without qry's ErrorInfo: %s", st.Code(), st.Message())}
	case st.Code() != fe.Kind.GRPC():
		return &fault.Error{Msg: fmt.Sprintf("gRPC code %s does not go with kind %s: %s", st.Code(), fe.Kind, fe.Msg)}
	}
	return fe
}
