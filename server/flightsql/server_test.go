package flightsql_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	fsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
	"github.com/qry-dev/qry/server/flightsql"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/resolver/dns.(*dnsResolver).watcher"))
}

type env struct {
	srv    *flightsql.Server
	eng    *engine.Engine
	client *fsql.Client
	addr   string
	ref    func(string) [][]string
	stop   func()
}

// start serves the sample data on a free loopback port, with a checked
// allocator that must be back to zero once the server has stopped.
func start(t *testing.T, opts engine.Options) *env {
	t.Helper()
	return startWith(t, []string{fixture.Sample()}, opts, flightsql.Options{}, flightsql.ServeOptions{}, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

func startWith(t *testing.T, data []string, opts engine.Options, so flightsql.Options, serve flightsql.ServeOptions, dial ...grpc.DialOption) *env {
	t.Helper()
	cache := t.TempDir()
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: data, CacheDir: cache})
	require.NoError(t, err)
	opts.SandboxDir = cache
	eng, err := engine.Open(context.Background(), cat, opts)
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	so.Alloc, so.Version = mem, "test"
	srv, err := flightsql.New(eng, so)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	serve.Addr, serve.Grace = "127.0.0.1:0", time.Second
	serve.Ready = func(a net.Addr) { ready <- a }
	go func() {
		done <- flightsql.Serve(ctx, srv, serve)
	}()
	addr := (<-ready).String()
	cl, err := fsql.NewClient(addr, nil, nil, dial...)
	require.NoError(t, err)
	cl.Alloc = mem

	_, db := fixture.Load(t, "sample")
	e := &env{srv: srv, eng: eng, client: cl, addr: addr, ref: func(q string) [][]string { return fixture.Rows(t, db, q) }}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cl.Close()
			cancel()
			require.NoError(t, <-done)
			eng.Close()
			cat.Close()
			mem.AssertSize(t, 0)
		})
	}
	t.Cleanup(e.stop)
	return e
}

// fetch reads every endpoint of a FlightInfo.
func (e *env) fetch(t *testing.T, ctx context.Context, info *flight.FlightInfo) [][]string {
	t.Helper()
	var rows [][]string
	for _, ep := range info.Endpoint {
		rd, err := e.client.DoGet(ctx, ep.Ticket)
		require.NoError(t, err)
		if len(info.Schema) > 0 {
			schema, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
			require.NoError(t, err)
			require.True(t, schema.Equal(rd.Schema()), "FlightInfo schema %s != stream schema %s", schema, rd.Schema())
		}
		rows = append(rows, fixture.ArrowRows(t, rd)...)
		rd.Release()
	}
	return rows
}

func (e *env) query(t *testing.T, q string) [][]string {
	t.Helper()
	info, err := e.client.Execute(context.Background(), q)
	require.NoError(t, err, q)
	return e.fetch(t, context.Background(), info)
}

func TestPreparedStatementWithParameters(t *testing.T) {
	e := start(t, engine.Options{})
	ctx := context.Background()
	prep, err := e.client.Prepare(ctx, "SELECT count(*) AS n, round(sum(fare), 2) AS total FROM trips WHERE payment = ? AND passengers >= ?")
	require.NoError(t, err)
	defer prep.Close(ctx)
	isUpdate, known := prep.IsUpdate()
	require.True(t, known)
	require.False(t, isUpdate)
	require.Equal(t, []string{"n", "total"}, []string{prep.DatasetSchema().Field(0).Name, prep.DatasetSchema().Field(1).Name})
	require.Equal(t, 2, prep.ParameterSchema().NumFields())

	for _, tc := range []struct {
		payment string
		pax     int64
	}{{"card", 3}, {"cash", 1}} {
		params := paramBatch(t, tc.payment, tc.pax)
		prep.SetParameters(params)
		params.Release()
		info, err := prep.Execute(ctx)
		require.NoError(t, err)
		want := e.ref("SELECT count(*) AS n, round(sum(fare), 2) AS total FROM trips WHERE payment = '" + tc.payment + "' AND passengers >= " + itoa(tc.pax))
		require.Equal(t, want, e.fetch(t, ctx, info))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func paramBatch(t *testing.T, s string, n int64) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "$1", Type: arrow.BinaryTypes.String}, {Name: "$2", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(s)
	b.Field(1).(*array.Int64Builder).Append(n)
	return b.NewRecordBatch()
}

func TestMetadata(t *testing.T) {
	e := start(t, engine.Options{})
	ctx := context.Background()

	info, err := e.client.GetCatalogs(ctx)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"qry"}}, e.fetch(t, ctx, info))

	info, err = e.client.GetDBSchemas(ctx, &fsql.GetDBSchemasOpts{})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"qry", "main"}}, e.fetch(t, ctx, info))

	info, err = e.client.GetTableTypes(ctx)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"TABLE"}}, e.fetch(t, ctx, info))

	pattern := "w%"
	info, err = e.client.GetTables(ctx, &fsql.GetTablesOpts{TableNameFilterPattern: &pattern, IncludeSchema: true})
	require.NoError(t, err)
	rd, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	defer rd.Release()
	require.True(t, rd.Next())
	rec := rd.RecordBatch()
	require.Equal(t, int64(1), rec.NumRows())
	require.Equal(t, "weather", rec.Column(2).(*array.String).Value(0))
	schema, err := flight.DeserializeSchema(rec.Column(4).(*array.Binary).Value(0), memory.DefaultAllocator)
	require.NoError(t, err)
	var names []string
	for _, f := range schema.Fields() {
		names = append(names, f.Name)
	}
	var want []string
	for _, r := range e.ref("SELECT column_name FROM (DESCRIBE weather)") {
		want = append(want, r[0])
	}
	require.Equal(t, want, names)

	info, err = e.client.GetSqlInfo(ctx, []fsql.SqlInfo{fsql.SqlInfoFlightSqlServerName, fsql.SqlInfoFlightSqlServerReadOnly})
	require.NoError(t, err)
	rows := e.fetch(t, ctx, info)
	require.Len(t, rows, 2)
}

// Flight SQL serves reads and appends only, sandbox or not. (Errors in SQL
// are in the query suite, testdata/queries.)
func TestErrorsAreStatuses(t *testing.T) {
	e := start(t, engine.Options{})
	for _, tc := range []struct {
		sql       string
		code      codes.Code
		msg       string
		kind      fault.Kind
		line, col int
	}{
		{"SELECT * FORM trips", codes.InvalidArgument, "syntax error", fault.Syntax, 1, 15},
		{"SELECT fare,\n  nope FROM trips", codes.InvalidArgument, `"nope"`, fault.Binder, 2, 3},
		{"SELECT 1; SELECT 2", codes.InvalidArgument, "one statement", fault.Statement, 0, 0},
		{"CREATE TABLE x AS SELECT 1", codes.PermissionDenied, "read-only", fault.ReadOnly, 0, 0},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			_, err := e.client.Execute(context.Background(), tc.sql)
			st, ok := status.FromError(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.code, st.Code(), st.Message())
			require.Contains(t, st.Message(), tc.msg)
			// The details carry the kind and the position.
			var info *errdetails.ErrorInfo
			for _, d := range st.Details() {
				if i, ok := d.(*errdetails.ErrorInfo); ok {
					info = i
				}
			}
			require.NotNil(t, info, "an ErrorInfo detail")
			require.Equal(t, fault.Domain, info.GetDomain())
			require.Equal(t, tc.kind.String(), info.GetReason())
			if tc.line > 0 {
				require.Equal(t, map[string]string{"line": strconv.Itoa(tc.line), "column": strconv.Itoa(tc.col)}, info.GetMetadata())
			} else {
				require.Empty(t, info.GetMetadata())
			}
			back := fault.FromStatus(err)
			require.Equal(t, tc.kind, fault.KindOf(back))
			line, col := fault.Position(back)
			require.Equal(t, []int{tc.line, tc.col}, []int{line, col})
		})
	}
	_, err := e.client.ExecuteUpdate(context.Background(), "DELETE FROM trips")
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "only INSERT INTO a writable table")
	_, err = e.client.ExecuteUpdate(context.Background(), "INSERT INTO trips SELECT * FROM trips")
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	require.Contains(t, err.Error(), "read-only")
	// Still serving.
	require.Equal(t, [][]string{{"1"}}, e.query(t, "SELECT 1"))
}

const endless = "SELECT i, i * 2 AS j FROM range(1000000000000) r(i)"

func waitRunning(t *testing.T, s *flightsql.Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return s.Running() == n }, time.Minute, 10*time.Millisecond)
}

func TestCancelFlightInfo(t *testing.T) {
	e := start(t, engine.Options{MaxConns: 1})
	ctx := context.Background()
	info, err := e.client.Execute(ctx, endless)
	require.NoError(t, err)
	rd, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.True(t, rd.Next())
	waitRunning(t, e.srv, 1)

	res, err := e.client.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
	require.NoError(t, err)
	require.Equal(t, flight.CancelStatusCancelled, res.Status)
	for rd.Next() {
	}
	require.Equal(t, codes.Canceled, status.Code(rd.Err()), "%v", rd.Err())
	rd.Release()
	waitRunning(t, e.srv, 0)
	// The only DuckDB connection is free again.
	require.Equal(t, [][]string{{"7"}}, e.query(t, "SELECT 7"))
	// This replica refuses the ticket from now on.
	rd2, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
	if err == nil {
		for rd2.Next() {
		}
		err = rd2.Err()
		rd2.Release()
	}
	require.Equal(t, codes.Canceled, status.Code(err), "%v", err)
	require.ErrorContains(t, err, "cancelled")
}

func TestClientGoneMidStream(t *testing.T) {
	e := start(t, engine.Options{MaxConns: 1})
	ctx, cancel := context.WithCancel(context.Background())
	info, err := e.client.Execute(ctx, endless)
	require.NoError(t, err)
	rd, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.True(t, rd.Next())
	waitRunning(t, e.srv, 1)
	cancel() // the client hangs up
	rd.Release()
	waitRunning(t, e.srv, 0)
	require.Equal(t, [][]string{{"8"}}, e.query(t, "SELECT 8"))

	// A client process that dies: a second connection dropped without a word.
	cl2, err := fsql.NewClient(e.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	info, err = cl2.Execute(context.Background(), endless)
	require.NoError(t, err)
	rd2, err := cl2.DoGet(context.Background(), info.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.True(t, rd2.Next())
	waitRunning(t, e.srv, 1)
	require.NoError(t, cl2.Close())
	waitRunning(t, e.srv, 0)
	rd2.Release()
	require.Equal(t, [][]string{{"9"}}, e.query(t, "SELECT 9"))
}

func TestManyClientsAtOnce(t *testing.T) {
	e := start(t, engine.Options{MaxConns: 3})
	want := e.ref("SELECT zone_id, count(*) FROM trips GROUP BY 1 ORDER BY 1")
	// A slow reader holds one connection the whole time.
	slow, err := e.client.Execute(context.Background(), endless)
	require.NoError(t, err)
	slowRd, err := e.client.DoGet(context.Background(), slow.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.True(t, slowRd.Next())

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := fsql.NewClient(e.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			info, err := cl.Execute(context.Background(), "SELECT zone_id, count(*) FROM trips GROUP BY 1 ORDER BY 1")
			if err != nil {
				errs <- err
				return
			}
			rd, err := cl.DoGet(context.Background(), info.Endpoint[0].Ticket)
			if err != nil {
				errs <- err
				return
			}
			defer rd.Release()
			got := fixture.ArrowRows(t, rd)
			if len(got) != len(want) || got[0][1] != want[0][1] {
				errs <- errors.New("wrong answer")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	slowRd.Release()
}

func TestPlainFlight(t *testing.T) {
	e := start(t, engine.Options{})
	ctx := context.Background()
	fc, err := flight.NewClientWithMiddleware(e.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer fc.Close()
	want := e.ref("SELECT count(*), max(fare) FROM trips")

	read := func(tkt *flight.Ticket) [][]string {
		stream, err := fc.DoGet(ctx, tkt)
		require.NoError(t, err)
		rd, err := flight.NewRecordReader(stream)
		require.NoError(t, err)
		defer rd.Release()
		return fixture.ArrowRows(t, rd)
	}
	// SQL text as the descriptor command.
	info, err := fc.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("SELECT count(*), max(fare) FROM trips")})
	require.NoError(t, err)
	require.Equal(t, want, read(info.Endpoint[0].Ticket))
	// SQL text as the ticket.
	require.Equal(t, want, read(&flight.Ticket{Ticket: []byte("SELECT count(*), max(fare) FROM trips")}))
	// A path names a table.
	info, err = fc.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"weather"}})
	require.NoError(t, err)
	require.Equal(t, e.ref("SELECT * FROM weather"), read(info.Endpoint[0].Ticket))
	// Bad SQL is a clean error.
	_, err = fc.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("SELEC 1")})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
}

func TestShutdownCancelsStreamsAfterGrace(t *testing.T) {
	e := start(t, engine.Options{})
	info, err := e.client.Execute(context.Background(), endless)
	require.NoError(t, err)
	rd, err := e.client.DoGet(context.Background(), info.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.True(t, rd.Next())
	stopped := make(chan struct{})
	go func() {
		for rd.Next() {
		}
		close(stopped)
	}()
	start := time.Now()
	e.stop() // grace 1 s, then cancel
	<-stopped
	require.Less(t, time.Since(start), 8*time.Second)
	require.Error(t, rd.Err())
	rd.Release()
}
