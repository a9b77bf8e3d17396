package flightsql_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	fsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
	"github.com/qry-dev/qry/server/auth"
	"github.com/qry-dev/qry/server/flightsql"
)

// manyFiles writes a table "m" of n Parquet files, 100 rows each (id
// 0..100n-1, g = id % 7, file i holding ids 100i..100i+99), and returns
// the data directory.
func manyFiles(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	fixture.MkdirAll(t, filepath.Join(dir, "m"))
	db := fixture.DB(t)
	for i := range n {
		fixture.Exec(t, db, fmt.Sprintf("COPY (SELECT i AS id, i %% 7 AS g FROM range(%d, %d) r(i)) TO %s (FORMAT parquet)",
			100*i, 100*(i+1), fixture.Quote(filepath.Join(dir, "m", fmt.Sprintf("f%02d.parquet", i)))))
	}
	return dir
}

func insecureDial() grpc.DialOption { return grpc.WithTransportCredentials(insecure.NewCredentials()) }

func askParts(ctx context.Context, n int) context.Context {
	return metadata.AppendToOutgoingContext(ctx, flightsql.HeaderPartitions, fmt.Sprint(n))
}

// sumIDs reads every endpoint of info through e and returns the rows and
// the sum of the first column.
func sumIDs(t *testing.T, e *env, info *flight.FlightInfo) (rows, sum int64) {
	t.Helper()
	for _, r := range e.fetch(t, context.Background(), info) {
		var v int64
		_, err := fmt.Sscan(r[0], &v)
		require.NoError(t, err)
		rows, sum = rows+1, sum+v
	}
	return rows, sum
}

func TestPartitionedFlightInfo(t *testing.T) {
	dir := manyFiles(t, 8)
	locs := []string{"grpc://a:1", "grpc://b:2", "grpc://c:3"}
	e := startWith(t, []string{dir}, engine.Options{Sandbox: true, MaxPartitions: 5},
		flightsql.Options{Locations: func() []string { return locs }}, flightsql.ServeOptions{}, insecureDial())
	ctx := context.Background()

	// By default (256 MiB parts) these small files are one part.
	info, err := e.client.Execute(ctx, "SELECT id FROM m WHERE g = 3")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 1)
	require.Empty(t, info.Endpoint[0].Location, "one endpoint is read where it was asked for")

	// Asked for 4: 4 endpoints of 2 files each, each naming every
	// replica, a different one first.
	start := time.Now()
	info, err = e.client.Execute(askParts(ctx, 4), "SELECT id FROM m WHERE g = 3")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 4)
	require.False(t, info.Ordered)
	for i, ep := range info.Endpoint {
		require.Len(t, ep.Location, 3)
		require.Equal(t, locs[i%3], ep.Location[0].Uri)
		exp := ep.ExpirationTime.AsTime()
		require.True(t, exp.After(start.Add(flightsql.DefaultTicketTTL-time.Minute)) && exp.Before(time.Now().Add(flightsql.DefaultTicketTTL+time.Second)), "%v", exp)
	}
	// Together they are the answer: ids 0..799 with id % 7 = 3.
	var wantRows, wantSum int64
	for id := range int64(800) {
		if id%7 == 3 {
			wantRows, wantSum = wantRows+1, wantSum+id
		}
	}
	rows, sum := sumIDs(t, e, info)
	require.Equal(t, wantRows, rows)
	require.Equal(t, wantSum, sum)

	// Pruning applies first: ids >= 650 are in files 6 and 7 only.
	info, err = e.client.Execute(askParts(ctx, 4), "SELECT id FROM m WHERE id >= 650")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 2)
	rows, sum = sumIDs(t, e, info)
	require.Equal(t, int64(150), rows)
	require.Equal(t, int64((650+799)*150/2), sum)

	// A client asking for 10,000 gets --max-partitions.
	info, err = e.client.Execute(askParts(ctx, 10000), "SELECT id FROM m")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 5)
	rows, sum = sumIDs(t, e, info)
	require.Equal(t, int64(800), rows)
	require.Equal(t, int64(799*800/2), sum)

	// Ordered, aggregated or limited results are one endpoint; Ordered
	// says which are ordered.
	info, err = e.client.Execute(askParts(ctx, 4), "SELECT id FROM m ORDER BY id DESC")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 1)
	require.True(t, info.Ordered)
	first := e.fetch(t, ctx, info)
	require.Equal(t, "799", first[0][0])
	for _, q := range []string{"SELECT g, count(*) FROM m GROUP BY g", "SELECT id FROM m LIMIT 5", "SELECT DISTINCT g FROM m"} {
		info, err = e.client.Execute(askParts(ctx, 4), q)
		require.NoError(t, err, q)
		require.Len(t, info.Endpoint, 1, q)
		require.False(t, info.Ordered, q)
	}

	// A request that is not a number is refused.
	bad := metadata.AppendToOutgoingContext(ctx, flightsql.HeaderPartitions, "many")
	_, err = e.client.Execute(bad, "SELECT id FROM m")
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.ErrorContains(t, err, flightsql.HeaderPartitions)
}

// replica is one more server over dir with the given secret, as a
// replica started with the same --ticket-secret is.
func replica(t *testing.T, dir string, opts flightsql.Options, serve flightsql.ServeOptions) *env {
	t.Helper()
	return startWith(t, []string{dir}, engine.Options{Sandbox: true}, opts, serve, insecureDial())
}

func TestTicketsAnyReplicaRedeems(t *testing.T) {
	dir := manyFiles(t, 6)
	secret := flightsql.NewSecrets([]byte("the cluster's ticket secret, 32+ bytes long"))
	a := replica(t, dir, flightsql.Options{Secrets: secret}, flightsql.ServeOptions{})
	b := replica(t, dir, flightsql.Options{Secrets: flightsql.NewSecrets([]byte("the cluster's ticket secret, 32+ bytes long"))}, flightsql.ServeOptions{})
	other := replica(t, dir, flightsql.Options{}, flightsql.ServeOptions{})
	ctx := context.Background()

	info, err := a.client.Execute(askParts(ctx, 3), "SELECT id FROM m WHERE g <> 0")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 3)
	// Replica b redeems a's tickets: the same answer.
	rowsA, sumA := sumIDs(t, a, info)
	rowsB, sumB := sumIDs(t, b, info)
	require.Equal(t, rowsA, rowsB)
	require.Equal(t, sumA, sumB)
	require.Equal(t, int64(600-86), rowsB) // 86 multiples of 7 in 0..599

	// A replica of another cluster refuses them.
	_, err = readTicket(other, info.Endpoint[0].Ticket)
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	require.ErrorContains(t, err, "ticket secret")

	// So does b, for a ticket changed by one bit anywhere.
	raw := info.Endpoint[0].Ticket.Ticket
	for _, i := range []int{len(raw) / 3, len(raw) / 2, len(raw) - 1} {
		bent := append([]byte(nil), raw...)
		bent[i] ^= 1
		_, err = readTicket(b, &flight.Ticket{Ticket: bent})
		require.Contains(t, []codes.Code{codes.Unauthenticated, codes.InvalidArgument}, status.Code(err), "byte %d: %v", i, err)
	}

	// A rotated secret: the new one signs, the old one still checks.
	b.srv.Secrets().Set([]byte("the next secret, also 32 bytes or more"), []byte("the cluster's ticket secret, 32+ bytes long"))
	_, err = readTicket(b, info.Endpoint[1].Ticket)
	require.NoError(t, err)
	b.srv.Secrets().Set([]byte("the next secret, also 32 bytes or more"))
	_, err = readTicket(b, info.Endpoint[1].Ticket)
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
}

func TestTicketExpires(t *testing.T) {
	dir := manyFiles(t, 2)
	e := replica(t, dir, flightsql.Options{TicketTTL: time.Nanosecond}, flightsql.ServeOptions{})
	info, err := e.client.Execute(context.Background(), "SELECT id FROM m")
	require.NoError(t, err)
	require.True(t, info.Endpoint[0].ExpirationTime.AsTime().Before(time.Now()))
	_, err = readTicket(e, info.Endpoint[0].Ticket)
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	require.ErrorContains(t, err, "expired")
}

func TestTicketIsTheCallers(t *testing.T) {
	dir := manyFiles(t, 2)
	alice, bob := strings.Repeat("a", 24), strings.Repeat("b", 24)
	tokens, err := auth.ParseTokens("alice:" + alice + ", bob:" + bob)
	require.NoError(t, err)
	e := replica(t, dir, flightsql.Options{}, flightsql.ServeOptions{Middleware: []flight.ServerMiddleware{flightsql.AuthMiddleware(tokens)}})
	as := func(tok string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	}
	info, err := e.client.Execute(as(alice), "SELECT id FROM m")
	require.NoError(t, err)
	rd, err := e.client.DoGet(as(alice), info.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.Len(t, fixture.ArrowRows(t, rd), 200)
	rd.Release()

	// Bob's token is good, but the ticket is Alice's.
	_, err = readAll(e.client.DoGet(as(bob), info.Endpoint[0].Ticket))
	require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
	// Without a token, the middleware refuses before any ticket is read.
	_, err = readAll(e.client.DoGet(context.Background(), info.Endpoint[0].Ticket))
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
}

// TestTicketFilesChanged: a ticket whose files were compacted away or
// rewritten since it was issued fails with a clear "plan again", never a
// partial answer; the other parts still read.
func TestTicketFilesChanged(t *testing.T) {
	dir := manyFiles(t, 4)
	e := replica(t, dir, flightsql.Options{}, flightsql.ServeOptions{})
	ctx := context.Background()
	info, err := e.client.Execute(askParts(ctx, 4), "SELECT id FROM m")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 4)

	// f00 removed, f01 rewritten with other rows (a compaction's work).
	require.NoError(t, os.Remove(filepath.Join(dir, "m", "f00.parquet")))
	db := fixture.DB(t)
	fixture.Exec(t, db, "COPY (SELECT i AS id, i % 7 AS g FROM range(5000, 5300) r(i)) TO "+
		fixture.Quote(filepath.Join(dir, "m", "f01.parquet"))+" (FORMAT parquet)")

	stale := 0
	var rows int64
	for _, ep := range info.Endpoint {
		n, err := readTicket(e, ep.Ticket)
		if err != nil {
			stale++
			require.Equal(t, codes.FailedPrecondition, status.Code(err), "%v", err)
			require.ErrorContains(t, err, "plan the query again")
			continue
		}
		rows += n
	}
	require.Equal(t, 2, stale)
	require.Equal(t, int64(200), rows) // f02 and f03, as planned

	// Planned again, the query reads the files as they are.
	info, err = e.client.Execute(askParts(ctx, 4), "SELECT id FROM m")
	require.NoError(t, err)
	n, _ := sumIDs(t, e, info)
	require.Equal(t, int64(500), n)
}

// TestPreparedAcrossReplicas: a client prepares and binds on one replica
// and is routed to another for the rest, as a load balancer may do.
func TestPreparedAcrossReplicas(t *testing.T) {
	dir := manyFiles(t, 3)
	key := []byte("the cluster's ticket secret, 32+ bytes long")
	a := replica(t, dir, flightsql.Options{Secrets: flightsql.NewSecrets(key)}, flightsql.ServeOptions{})
	b := replica(t, dir, flightsql.Options{Secrets: flightsql.NewSecrets(key)}, flightsql.ServeOptions{})
	ctx := context.Background()

	prep, err := a.client.Prepare(ctx, "SELECT id FROM m WHERE id >= ? AND g = 1")
	require.NoError(t, err)
	defer prep.Close(ctx)
	params := paramRow(t, 250)
	prep.SetParameters(params)
	params.Release()
	info, err := prep.Execute(ctx) // binds on a: the handle now carries 250
	require.NoError(t, err)
	want := a.fetch(t, ctx, info)

	// b never saw the statement: it redeems the handle alone.
	onB, err := b.client.LoadPreparedStatementFromResult(&fsql.CreatePreparedStatementResult{PreparedStatementHandle: prep.Handle()})
	require.NoError(t, err)
	info, err = onB.Execute(ctx)
	require.NoError(t, err)
	got := b.fetch(t, ctx, info)
	require.Equal(t, want, got)
	// ids 250..299 with id % 7 = 1: 253, 260, ..., 295.
	require.Len(t, got, 7)
	require.Equal(t, "253", got[0][0])
}

func paramRow(t *testing.T, v int64) arrow.RecordBatch {
	t.Helper()
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(v)
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "$1", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 1)
}

// readTicket reads one ticket on e to its end: its rows.
func readTicket(e *env, tkt *flight.Ticket) (int64, error) {
	return readAll(e.client.DoGet(context.Background(), tkt))
}

func readAll(rd *flight.Reader, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	defer rd.Release()
	var n int64
	for rd.Next() {
		n += rd.RecordBatch().NumRows()
	}
	return n, rd.Err()
}

// TestLargeFileInPieces: a Parquet file larger than a part is read in
// pieces by row number, one endpoint each, together the whole file.
func TestLargeFileInPieces(t *testing.T) {
	dir := t.TempDir()
	fixture.MkdirAll(t, filepath.Join(dir, "big"))
	db := fixture.DB(t)
	fixture.Exec(t, db, "COPY (SELECT i AS id FROM range(300000) r(i)) TO "+
		fixture.Quote(filepath.Join(dir, "big", "one.parquet"))+" (FORMAT parquet, ROW_GROUP_SIZE 100000)")
	e := startWith(t, []string{dir}, engine.Options{Sandbox: true, PartitionBytes: 1024}, flightsql.Options{}, flightsql.ServeOptions{}, insecureDial())
	ctx := context.Background()
	info, err := e.client.Execute(ctx, "SELECT id FROM big WHERE id % 2 = 0")
	require.NoError(t, err)
	require.Len(t, info.Endpoint, 3) // at least 100,000 rows a piece
	for _, ep := range info.Endpoint {
		n, err := readTicket(e, ep.Ticket)
		require.NoError(t, err)
		require.Equal(t, int64(50000), n)
	}
	rows, sum := sumIDs(t, e, info)
	require.Equal(t, int64(150000), rows)
	require.Equal(t, int64(2*(149999*150000/2)), sum)
}
