package flightsql_test

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	fsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
	"github.com/qry-dev/qry/internal/hostile"
	"github.com/qry-dev/qry/server/flightsql"
)

// TestSecretsNeverLeak runs every hostile case (internal/hostile) against
// a sandboxed server over a data root with secret files beside table t:
// as a statement, as a plain Flight ticket, as an update and as a prepared
// statement (with the path as a parameter). Each must be answered as the
// case wants, and no result, error or log line may show the secret's
// marker. Then the server still answers t right.
func TestSecretsNeverLeak(t *testing.T) {
	p := hostile.New(t)
	var logs hostile.Log
	e := startPlant(t, p, &logs)
	cwd, err := os.Getwd()
	require.NoError(t, err)
	ctx := context.Background()
	cases := p.Cases(cwd)
	for i, c := range cases {
		t.Run(c.Class+"/"+c.Name, func(t *testing.T) {
			if len(c.Params) == 0 {
				judge(t, c, "statement")(e.statement(ctx, p, c.SQL))
				if i%2 == 0 {
					judge(t, c, "plain flight ticket")(e.ticket(ctx, p, c.SQL))
				}
				if i%4 == 0 || engine.IsInsert(c.SQL) || c.Class == "statements" {
					up := c
					if !engine.IsInsert(c.SQL) {
						up.Want = hostile.Refused // an update is an INSERT or nothing
					}
					judge(t, up, "update")(e.update(ctx, p, c.SQL))
				}
			}
			if len(c.Params) > 0 || i%3 == 0 {
				judge(t, c, "prepared")(e.prepared(ctx, p, c.SQL, c.Params))
			}
		})
	}

	// The server still serves, and right: t as DuckDB reads its file.
	db := fixture.DB(t)
	want := fixture.Rows(t, db, "SELECT id, v FROM read_csv('"+p.TableCSV+"') ORDER BY id")
	require.Equal(t, want, e.query(t, "SELECT id, v FROM t ORDER BY id"))
	require.Equal(t, p.Rows, want)
	// Nothing written to w shows the secret, no file was written, no log
	// line shows it.
	ans, leak := e.statement(ctx, p, "SELECT * FROM w")
	require.True(t, ans.OK, ans.Msg)
	require.Empty(t, leak)
	p.CheckUnchanged(t)
	e.stop()
	require.False(t, p.Leak(logs.String()), "a log line shows the secret:\n%s", logs.String())
}

// judge returns a check of the answer a route gave to a case.
func judge(t *testing.T, c hostile.Case, route string) func(hostile.Answer, string) {
	return func(a hostile.Answer, leak string) {
		t.Helper()
		if leak != "" {
			t.Errorf("%s: the secret leaked (%s) for %q", route, leak, c.SQL)
		}
		if err := c.Check(a); err != nil {
			t.Errorf("%s: %v\nSQL: %q params: %q", route, err, c.SQL, c.Params)
		}
	}
}

// answer turns a call's error into an Answer, and says whether its
// message shows the secret.
func answer(p *hostile.Plant, err error) (hostile.Answer, string) {
	if err == nil {
		return hostile.Answer{OK: true}, ""
	}
	st, _ := status.FromError(err)
	a := hostile.Answer{Forbidden: st.Code() == codes.PermissionDenied, Invalid: st.Code() == codes.InvalidArgument,
		Kind: fault.KindOf(fault.FromStatus(err)), Msg: st.Message()}
	if p.Leak(err.Error()) {
		return a, "in an error: " + err.Error()
	}
	return a, ""
}

// drain reads a stream to its end, looking for the secret.
func drain(p *hostile.Plant, rd array.RecordReader) (leak string) {
	if s := p.LeakSchema(rd.Schema()); s != "" {
		leak = "in a result's schema: " + s
	}
	for rd.Next() {
		if s := p.LeakBatch(rd.RecordBatch()); s != "" {
			leak = "in a result: " + s
		}
	}
	return leak
}

// endpoints reads every endpoint of a FlightInfo.
func (e *env) endpoints(ctx context.Context, p *hostile.Plant, info *flight.FlightInfo) (hostile.Answer, string) {
	if len(info.Schema) > 0 {
		schema, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
		if err == nil && p.LeakSchema(schema) != "" {
			return hostile.Answer{OK: true}, "in a FlightInfo schema: " + schema.String()
		}
	}
	for _, ep := range info.Endpoint {
		rd, err := e.client.DoGet(ctx, ep.Ticket)
		if err != nil {
			return answer(p, err)
		}
		leak := drain(p, rd)
		err = rd.Err()
		rd.Release()
		if err != nil || leak != "" {
			a, l := answer(p, err)
			if leak == "" {
				leak = l
			}
			return a, leak
		}
	}
	return hostile.Answer{OK: true}, ""
}

// statement runs sql as a Flight SQL statement.
func (e *env) statement(ctx context.Context, p *hostile.Plant, sql string) (hostile.Answer, string) {
	info, err := e.client.Execute(ctx, sql)
	if err != nil {
		return answer(p, err)
	}
	return e.endpoints(ctx, p, info)
}

// ticket runs sql as a plain Flight ticket (pyarrow.flight's way).
func (e *env) ticket(ctx context.Context, p *hostile.Plant, sql string) (hostile.Answer, string) {
	stream, err := e.client.Client.DoGet(ctx, &flight.Ticket{Ticket: []byte(sql)})
	if err != nil {
		return answer(p, err)
	}
	rd, err := flight.NewRecordReader(stream, ipc.WithAllocator(e.client.Alloc))
	if err != nil {
		return answer(p, err)
	}
	defer rd.Release()
	leak := drain(p, rd)
	a, l := answer(p, rd.Err())
	if leak == "" {
		leak = l
	}
	return a, leak
}

// update runs sql as an update (ExecuteUpdate: DoPut).
func (e *env) update(ctx context.Context, p *hostile.Plant, sql string) (hostile.Answer, string) {
	_, err := e.client.ExecuteUpdate(ctx, sql)
	return answer(p, err)
}

// prepared prepares sql, binds params (strings), and runs it.
func (e *env) prepared(ctx context.Context, p *hostile.Plant, sql string, params []any) (hostile.Answer, string) {
	stmt, err := e.client.Prepare(ctx, sql)
	if err != nil {
		return answer(p, err)
	}
	defer func() { _ = stmt.Close(ctx) }()
	if s := p.LeakSchema(stmt.DatasetSchema()) + p.LeakSchema(stmt.ParameterSchema()); s != "" {
		return hostile.Answer{OK: true}, "in a prepared statement's schema: " + s
	}
	if len(params) > 0 {
		fields := make([]arrow.Field, len(params))
		for i := range params {
			fields[i] = arrow.Field{Name: "p" + string(rune('1'+i)), Type: arrow.BinaryTypes.String}
		}
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
		for i, v := range params {
			b.Field(i).(*array.StringBuilder).Append(v.(string))
		}
		rec := b.NewRecordBatch()
		b.Release()
		stmt.SetParameters(rec)
		rec.Release()
	}
	info, err := stmt.Execute(ctx)
	if err != nil {
		return answer(p, err)
	}
	return e.endpoints(ctx, p, info)
}

// startPlant serves a plant's catalog (t, and the writable table w) on a
// free loopback port, sandboxed as qry serve runs, logging to logs.
func startPlant(t *testing.T, p *hostile.Plant, logs *hostile.Log) *env {
	t.Helper()
	cache := t.TempDir()
	co := p.CatalogOptions(t, cache)
	co.Logger = logs.Logger()
	cat, err := catalog.Open(context.Background(), co)
	require.NoError(t, err)
	eng, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, SandboxDir: cache, MaxConns: 4,
		MemoryLimit: "512MB", MaxResultRows: 100000, Logger: logs.Logger()})
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	srv, err := flightsql.New(eng, flightsql.Options{Alloc: mem, Version: "test", QueryTimeout: 10 * time.Second, Logger: logs.Logger()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- flightsql.Serve(ctx, srv, flightsql.ServeOptions{Addr: "127.0.0.1:0", Grace: time.Second,
			Ready: func(a net.Addr) { ready <- a }})
	}()
	var addr string
	select {
	case a := <-ready:
		addr = a.String()
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	cl, err := fsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	cl.Alloc = mem
	e := &env{srv: srv, eng: eng, client: cl, addr: addr}
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cl.Close()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v", err)
		}
		eng.Close()
		cat.Close()
		mem.AssertSize(t, 0)
	}
	t.Cleanup(e.stop)
	return e
}
