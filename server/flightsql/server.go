package flightsql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/server/limit"
	"github.com/qry-dev/qry/sql"
)

// Options configure a Server. The zero value of each field is usable.
type Options struct {
	// Version is reported in SqlInfo; empty means "dev".
	Version string
	// TicketTTL is how long an unredeemed ticket or an idle prepared
	// statement lives; 0 means DefaultTicketTTL.
	TicketTTL time.Duration
	// Alloc allocates metadata batches; nil means memory.DefaultAllocator.
	// Query results are allocated by DuckDB.
	Alloc memory.Allocator
	// QueryTimeout bounds a statement's run, from DoGet to its last batch;
	// 0 means limit.DefaultQueryTimeout, -1 none.
	QueryTimeout time.Duration
	// MaxSQLBytes bounds a statement's text; 0 means
	// limit.DefaultSQLBytes.
	MaxSQLBytes int
	// Logger receives one line per failed call; nil discards.
	Logger *slog.Logger
	// Secrets sign tickets and prepared-statement handles; nil means a
	// random key of this process (see ticket.go). Replicas that share
	// them redeem each other's tickets.
	Secrets *Secrets
	// Locations lists the replicas a part of a result can be read from
	// (Flight locations, "grpc://host:port"), or nil: a FlightInfo's
	// endpoints then name no location (the client reads them where it
	// asked). Called for each FlightInfo of several endpoints.
	Locations func() []string
}

// DefaultTicketTTL is how long a ticket can be redeemed, and an idle
// prepared statement's description is kept, unless Options say otherwise.
const DefaultTicketTTL = 10 * time.Minute

// Server is a Flight SQL service over an engine.
type Server struct {
	flightsql.BaseServer
	eng  *engine.Engine
	log  *slog.Logger
	ttl  time.Duration
	opts Options

	mu       sync.Mutex
	prepared map[string]*prepared // described handles, by handle
	runs     map[*run]struct{}
	byTicket map[[12]byte]map[*run]struct{}
	// cancelled are tickets CancelFlightInfo cancelled, until they expire.
	cancelled map[[12]byte]time.Time
}

type run struct{ cancel context.CancelFunc }

// prepared is what this replica knows of a prepared statement: its
// description, and the parameters bound here by a client that keeps using
// the handle it was first given.
type prepared struct {
	sql     string
	info    *engine.Statement
	args    []any
	bound   bool
	expires time.Time
}

var _ flightsql.Server = (*Server)(nil)

// New returns a Server answering from eng.
func New(eng *engine.Engine, opts Options) (*Server, error) {
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.TicketTTL <= 0 {
		opts.TicketTTL = DefaultTicketTTL
	}
	if opts.Alloc == nil {
		opts.Alloc = memory.DefaultAllocator
	}
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = limit.DefaultQueryTimeout
	}
	if opts.MaxSQLBytes <= 0 {
		opts.MaxSQLBytes = limit.DefaultSQLBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Secrets == nil {
		opts.Secrets = NewSecrets()
	}
	s := &Server{eng: eng, log: log, ttl: opts.TicketTTL, opts: opts, prepared: map[string]*prepared{},
		runs: map[*run]struct{}{}, byTicket: map[[12]byte]map[*run]struct{}{}, cancelled: map[[12]byte]time.Time{}}
	s.Alloc = opts.Alloc
	for id, v := range sqlInfo(opts.Version, eng.HasWritable()) {
		if err := s.RegisterSqlInfo(id, v); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Service returns the gRPC Flight service: Flight SQL, plus plain Flight
// where a command or ticket is SQL text and a path names a table.
func (s *Server) Service() flight.FlightServer {
	return &rawService{FlightServer: flightsql.NewFlightServerWithAllocator(s, s.Alloc), srv: s}
}

// Sweep forgets expired cancellations and idle prepared statements' descriptions now (it also
// happens as new ones are made).
func (s *Server) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(time.Now())
}

// Secrets are the keys that sign and check tickets (Set them to rotate).
func (s *Server) Secrets() *Secrets { return s.opts.Secrets }

// Running is the number of queries streaming now.
func (s *Server) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.runs)
}

// CancelAll cancels every running query (for shutdown).
func (s *Server) CancelAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.runs {
		r.cancel()
	}
}

// sweep forgets expired cancellations and idle descriptions; s.mu is held.
func (s *Server) sweep(now time.Time) {
	for id, exp := range s.cancelled {
		if now.After(exp) {
			delete(s.cancelled, id)
		}
	}
	for h, p := range s.prepared {
		if now.After(p.expires) {
			delete(s.prepared, h)
		}
	}
}

// ticket signs a ticket for sql with args, reading part (nil: all) for
// the caller of ctx.
func (s *Server) ticket(ctx context.Context, sql string, args []any, part *engine.Part) ([]byte, error) {
	h, err := s.opts.Secrets.sign(&claims{SQL: sql, Args: args, User: User(ctx), Expires: time.Now().Add(s.ttl), Part: part, ID: newID()})
	if err != nil {
		return nil, err
	}
	return flightsql.CreateStatementQueryTicket(h)
}

func (s *Server) describe(ctx context.Context, sql string) (*engine.Statement, error) {
	if err := limit.SQL(sql, s.opts.MaxSQLBytes); err != nil {
		return nil, err
	}
	if s.opts.QueryTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.QueryTimeout)
		defer cancel()
	}
	info, err := s.eng.Describe(ctx, sql)
	if err != nil {
		return nil, err
	}
	if !info.ReadOnly && !info.Update {
		return nil, ErrReadOnly
	}
	return info, nil
}

// ErrUpdate is returned when an INSERT is sent as a query.
var ErrUpdate = fault.New(fault.Statement, "an INSERT is an update: run it with ExecuteUpdate (executeUpdate in JDBC, cursor.execute in ADBC)")

func (s *Server) flightInfo(desc *flight.FlightDescriptor, schema *arrow.Schema, ticket []byte) *flight.FlightInfo {
	info := &flight.FlightInfo{
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: ticket}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
	if schema != nil {
		info.Schema = flight.SerializeSchema(schema, s.Alloc)
	}
	return info
}

// GetFlightInfoStatement prepares the query (reporting SQL errors now) and
// returns its tickets: one, or one per part of its result (see
// statementInfo).
func (s *Server) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	info, err := s.describe(ctx, cmd.GetQuery())
	if err == nil && info.Update {
		err = ErrUpdate
	}
	if err != nil {
		return nil, s.fail("GetFlightInfo", err)
	}
	fi, err := s.statementInfo(ctx, desc, info.Schema, cmd.GetQuery(), nil)
	if err != nil {
		return nil, s.fail("GetFlightInfo", err)
	}
	return fi, nil
}

// GetSchemaStatement returns a query's result schema without running it.
func (s *Server) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	info, err := s.describe(ctx, cmd.GetQuery())
	if err != nil {
		return nil, s.fail("GetSchema", err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(info.Schema, s.Alloc)}, nil
}

// DoGetStatement runs a ticket's statement (over its part of the result,
// if any) and streams its result.
func (s *Server) DoGetStatement(ctx context.Context, tkt flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	c, err := s.opts.Secrets.redeem(tkt.GetStatementHandle(), false, User(ctx), time.Now())
	if err != nil {
		return nil, nil, s.fail("DoGet", err)
	}
	s.mu.Lock()
	_, cancelled := s.cancelled[c.ID]
	s.mu.Unlock()
	if cancelled {
		return nil, nil, s.fail("DoGet", fmt.Errorf("%w: the query was cancelled", engine.ErrCanceled))
	}
	if c.Part != nil {
		ctx = engine.WithPart(ctx, c.Part)
	}
	return s.stream(ctx, &c.ID, c.SQL, c.Args)
}

// stream runs sql and streams it on a channel, registering the run so that
// CancelFlightInfo (for the ticket id, if not nil) and shutdown can stop
// it.
func (s *Server) stream(ctx context.Context, id *[12]byte, sql string, args []any) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	var cancel context.CancelFunc
	if s.opts.QueryTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.opts.QueryTimeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	r := &run{cancel: cancel}
	s.mu.Lock()
	s.runs[r] = struct{}{}
	if id != nil {
		if s.byTicket[*id] == nil {
			s.byTicket[*id] = map[*run]struct{}{}
		}
		s.byTicket[*id][r] = struct{}{}
	}
	s.mu.Unlock()
	done := func() {
		cancel()
		s.mu.Lock()
		delete(s.runs, r)
		if id != nil {
			delete(s.byTicket[*id], r)
			if len(s.byTicket[*id]) == 0 {
				delete(s.byTicket, *id)
			}
		}
		s.mu.Unlock()
	}
	if engine.IsInsert(sql) {
		// A DoGet reads: writes go through DoPut (ExecuteUpdate).
		done()
		return nil, nil, s.fail("DoGet", ErrUpdate)
	}
	rows, err := s.eng.Query(engine.WithOrigin(ctx, engine.Origin{Frontend: "flight", User: User(ctx)}), sql, args...)
	if err != nil {
		done()
		return nil, nil, s.fail("DoGet", err)
	}
	ch := make(chan flight.StreamChunk, 1)
	go pump(ctx, rows, ch, done)
	return rows.Schema(), ch, nil
}

// pump sends rows' batches on ch and closes it. Unlike
// flight.StreamChunksFromReader, a query cancelled on the server's side
// (CancelFlightInfo, shutdown) ends the stream with a Canceled error rather
// than a clean end the client would take for the whole result. The router
// drains ch to its end, so the last send cannot block forever.
func pump(ctx context.Context, rows *engine.Rows, ch chan<- flight.StreamChunk, done func()) {
	defer close(ch)
	defer done()
	defer rows.Release()
	defer func() {
		if p := recover(); p != nil {
			ch <- flight.StreamChunk{Err: status.Errorf(codes.Internal, "panic while streaming: %v", p)}
		}
	}()
	for rows.Next() {
		rec := rows.RecordBatch()
		rec.Retain() // the router releases what it sends
		select {
		case ch <- flight.StreamChunk{Data: rec}:
		case <-ctx.Done():
			rec.Release()
			err := engine.ErrCanceled
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = engine.ErrTimeout
			}
			ch <- flight.StreamChunk{Err: toStatus(err)}
			return
		}
	}
	if err := rows.Err(); err != nil {
		ch <- flight.StreamChunk{Err: toStatus(err)}
	}
}

// CancelFlightInfo cancels the queries this replica runs for a
// FlightInfo's tickets, and refuses the tickets here from now on (another
// replica, which was not asked, would still redeem them).
func (s *Server) CancelFlightInfo(ctx context.Context, req *flight.CancelFlightInfoRequest) (flight.CancelFlightInfoResult, error) {
	status := flight.CancelStatusNotCancellable
	if req.GetInfo() == nil {
		return flight.CancelFlightInfoResult{Status: status}, nil
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	for _, ep := range req.GetInfo().GetEndpoint() {
		tkt, err := flightsql.GetStatementQueryTicket(ep.GetTicket())
		if err != nil {
			continue
		}
		c, err := s.opts.Secrets.redeem(tkt.GetStatementHandle(), false, User(ctx), now)
		if err != nil {
			continue
		}
		for r := range s.byTicket[c.ID] {
			r.cancel()
		}
		s.cancelled[c.ID] = c.Expires
		status = flight.CancelStatusCancelled
	}
	return flight.CancelFlightInfoResult{Status: status}, nil
}

// CreatePreparedStatement prepares a query and returns its dataset and
// parameter schemas (JDBC needs both, and is_update).
func (s *Server) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	info, err := s.describe(ctx, req.GetQuery())
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, s.fail("CreatePreparedStatement", err)
	}
	h, err := s.opts.Secrets.sign(&claims{Prepared: true, SQL: req.GetQuery(), User: User(ctx)})
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, s.fail("CreatePreparedStatement", err)
	}
	now := time.Now()
	s.mu.Lock()
	s.sweep(now)
	s.prepared[string(h)] = &prepared{sql: req.GetQuery(), info: info, expires: now.Add(s.ttl)}
	s.mu.Unlock()
	isUpdate := info.Update
	return flightsql.ActionCreatePreparedStatementResult{
		Handle: h, DatasetSchema: info.Schema, ParameterSchema: info.Params, IsUpdate: &isUpdate,
	}, nil
}

// lookupPrepared opens a prepared statement's handle: its description is
// this replica's if it has one, else made again from the statement the
// handle carries (the client was routed here after preparing elsewhere).
// The parameters are the handle's when it carries them, else those bound
// here to it. The result is a copy.
func (s *Server) lookupPrepared(ctx context.Context, handle []byte) (prepared, error) {
	c, err := s.opts.Secrets.redeem(handle, true, User(ctx), time.Now())
	if err != nil {
		return prepared{}, err
	}
	now := time.Now()
	s.mu.Lock()
	p, ok := s.prepared[string(handle)]
	if ok {
		p.expires = now.Add(s.ttl)
	}
	s.mu.Unlock()
	if !ok {
		info, err := s.describe(ctx, c.SQL)
		if err != nil {
			return prepared{}, err
		}
		p = &prepared{sql: c.SQL, info: info, expires: now.Add(s.ttl)}
		s.mu.Lock()
		s.sweep(now)
		if q, ok := s.prepared[string(handle)]; ok {
			p = q
		} else {
			s.prepared[string(handle)] = p
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	out := *p
	s.mu.Unlock()
	if c.Bound {
		out.args, out.bound = c.Args, true
	}
	return out, nil
}

// ClosePreparedStatement forgets this replica's description of a prepared
// statement (the handle itself stays valid: it holds its statement).
func (s *Server) ClosePreparedStatement(_ context.Context, req flightsql.ActionClosePreparedStatementRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.prepared, string(req.GetPreparedStatementHandle()))
	return nil
}

// DoPutPreparedStatementQuery binds parameters: the first row of the
// batches sent (one parameter set per execution). It answers with a new
// handle that carries them, which any replica redeems; a client that keeps
// the old handle finds them bound on this replica.
func (s *Server) DoPutPreparedStatementQuery(ctx context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	p, err := s.lookupPrepared(ctx, cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, s.fail("DoPut", err)
	}
	var args []any
	rows := int64(0)
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if rec.NumRows() == 0 {
			continue
		}
		rows += rec.NumRows()
		if args == nil {
			if args, err = rowValues(rec, 0); err != nil {
				return nil, s.fail("DoPut", err)
			}
		}
	}
	if err := rdr.Err(); err != nil {
		return nil, s.fail("DoPut", err)
	}
	if rows > 1 {
		return nil, s.fail("DoPut", engine.ErrParams)
	}
	s.mu.Lock()
	if q, ok := s.prepared[string(cmd.GetPreparedStatementHandle())]; ok {
		q.args, q.bound = args, true
	}
	s.mu.Unlock()
	h, err := s.opts.Secrets.sign(&claims{Prepared: true, SQL: p.sql, Args: args, Bound: true, User: User(ctx)})
	if err != nil {
		return nil, s.fail("DoPut", err)
	}
	s.mu.Lock()
	s.prepared[string(h)] = &prepared{sql: p.sql, info: p.info, args: args, bound: true, expires: time.Now().Add(s.ttl)}
	s.mu.Unlock()
	return h, nil
}

// GetFlightInfoPreparedStatement returns a ticket for a prepared statement
// with its current parameters.
func (s *Server) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	p, err := s.lookupPrepared(ctx, cmd.GetPreparedStatementHandle())
	if err == nil && p.info.Update {
		err = ErrUpdate
	}
	if err != nil {
		return nil, s.fail("GetFlightInfo", err)
	}
	fi, err := s.statementInfo(ctx, desc, p.schema(), p.sql, p.args)
	if err != nil {
		return nil, s.fail("GetFlightInfo", err)
	}
	return fi, nil
}

// schema is the dataset schema when DuckDB knew every parameter's type (a
// result's types may depend on untyped parameters, and a FlightInfo schema
// must equal the stream's).
func (p *prepared) schema() *arrow.Schema {
	for _, f := range p.info.Params.Fields() {
		if f.Type.ID() == arrow.NULL {
			return nil
		}
	}
	return p.info.Schema
}

// GetSchemaPreparedStatement returns a prepared statement's dataset schema.
func (s *Server) GetSchemaPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, _ *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	p, err := s.lookupPrepared(ctx, cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, s.fail("GetSchema", err)
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(p.info.Schema, s.Alloc)}, nil
}

// DoGetPreparedStatement runs a prepared statement with its parameters.
func (s *Server) DoGetPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	p, err := s.lookupPrepared(ctx, cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, nil, s.fail("DoGet", err)
	}
	return s.stream(ctx, nil, p.sql, p.args)
}

// DoPutCommandStatementUpdate runs an INSERT into a writable table.
func (s *Server) DoPutCommandStatementUpdate(ctx context.Context, cmd flightsql.StatementUpdate) (int64, error) {
	if err := limit.SQL(cmd.GetQuery(), s.opts.MaxSQLBytes); err != nil {
		return 0, s.fail("DoPut", err)
	}
	n, err := s.eng.Exec(s.origin(ctx), cmd.GetQuery())
	if err != nil {
		return 0, s.fail("DoPut", err)
	}
	return n, nil
}

// DoPutPreparedStatementUpdate runs a prepared INSERT once per row of the
// parameter batches sent (or once with the bound parameters), as one
// write.
func (s *Server) DoPutPreparedStatementUpdate(ctx context.Context, cmd flightsql.PreparedStatementUpdate, rdr flight.MessageReader) (int64, error) {
	p, err := s.lookupPrepared(ctx, cmd.GetPreparedStatementHandle())
	if err != nil {
		return 0, s.fail("DoPut", err)
	}
	batches, err := readWrite(rdr)
	defer releaseAll(batches)
	if err != nil {
		return 0, s.fail("DoPut", err)
	}
	// INSERT ... VALUES (?, ...): the parameter batches are the rows.
	if n, ok, err := s.eng.AppendParams(s.origin(ctx), p.sql, batches); ok {
		if err != nil {
			return 0, s.fail("DoPut", err)
		}
		return n, nil
	}
	var sets [][]any
	for _, rec := range batches {
		for r := range int(rec.NumRows()) {
			args, err := rowValues(rec, r)
			if err != nil {
				return 0, s.fail("DoPut", err)
			}
			sets = append(sets, args)
		}
	}
	if len(sets) == 0 {
		sets = [][]any{p.args}
	}
	n, err := s.eng.Exec(s.origin(ctx), p.sql, sets...)
	if err != nil {
		return 0, s.fail("DoPut", err)
	}
	return n, nil
}

// DoPutCommandStatementIngest appends Arrow batches to a writable table
// (ADBC's adbc_ingest in "append" or "create_append" mode) as one write.
func (s *Server) DoPutCommandStatementIngest(ctx context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	if opts := cmd.GetTableDefinitionOptions(); opts != nil {
		switch opts.GetIfExists() {
		case flightsql.TableDefinitionOptionsTableExistsOptionReplace:
			return 0, s.fail("DoPut", fmt.Errorf("%w: ingest may append to a writable table, not replace it", ErrReadOnly))
		case flightsql.TableDefinitionOptionsTableExistsOptionFail:
			return 0, s.fail("DoPut", fmt.Errorf("%w: table %s exists (ingest may append to it)", ErrReadOnly, cmd.GetTable()))
		}
	}
	if cmd.GetTemporary() {
		return 0, s.fail("DoPut", fmt.Errorf("%w: no temporary tables", ErrReadOnly))
	}
	if c := cmd.GetCatalog(); c != "" && c != engine.CatalogName {
		return 0, s.fail("DoPut", fmt.Errorf("%s.%s: %w", c, cmd.GetTable(), engine.ErrNotWritable))
	}
	batches, err := readWrite(rdr)
	defer releaseAll(batches)
	if err != nil {
		return 0, s.fail("DoPut", err)
	}
	n, err := s.eng.Append(s.origin(ctx), cmd.GetTable(), batches)
	if err != nil {
		return 0, s.fail("DoPut", err)
	}
	return n, nil
}

// maxIngest bounds one write sent by DoPut (a bulk ingest, or the
// parameter rows of a prepared INSERT), which is held whole so that it is
// written whole or not at all.
const maxIngest = 1 << 30

// readWrite reads the batches of one DoPut write, retained, up to
// maxIngest bytes of Arrow buffers. The caller releases them, also on
// error.
func readWrite(rdr flight.MessageReader) ([]arrow.RecordBatch, error) {
	var batches []arrow.RecordBatch
	var size int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		batches = append(batches, rec)
		for _, col := range rec.Columns() {
			for _, b := range col.Data().Buffers() {
				if b != nil {
					size += int64(b.Len())
				}
			}
		}
		if size > maxIngest {
			return batches, fmt.Errorf("%w: one write may hold up to %d MiB: send several", limit.ErrTooLarge, maxIngest>>20)
		}
	}
	return batches, rdr.Err()
}

func releaseAll(batches []arrow.RecordBatch) {
	for _, b := range batches {
		b.Release()
	}
}

func (s *Server) origin(ctx context.Context) context.Context {
	return engine.WithOrigin(ctx, engine.Origin{Frontend: "flight", User: User(ctx)})
}

func (s *Server) fail(call string, err error) error {
	st := toStatus(err)
	s.log.Info("call failed", "call", call, "err", st)
	return st
}

// --- metadata ---

func (s *Server) metaInfo(desc *flight.FlightDescriptor, schema *arrow.Schema) *flight.FlightInfo {
	// The Any-wrapped command is its own ticket: the router sends DoGet to
	// the matching DoGet* method.
	return s.flightInfo(desc, schema, desc.Cmd)
}

func (s *Server) streamRecord(rec arrow.RecordBatch) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	defer rec.Release()
	rr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return nil, nil, toStatus(err)
	}
	ch := make(chan flight.StreamChunk, 1)
	go flight.StreamChunksFromReader(context.Background(), rr, ch)
	return rec.Schema(), ch, nil
}

// GetFlightInfoCatalogs implements flightsql.Server.
func (s *Server) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metaInfo(desc, schema_ref.Catalogs), nil
}

// DoGetCatalogs lists the one catalog, qry.
func (s *Server) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.Alloc, schema_ref.Catalogs)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(engine.CatalogName)
	return s.streamRecord(b.NewRecordBatch())
}

// GetFlightInfoSchemas implements flightsql.Server.
func (s *Server) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metaInfo(desc, schema_ref.DBSchemas), nil
}

// DoGetDBSchemas lists the one schema, main, if the filters admit it.
func (s *Server) DoGetDBSchemas(_ context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.Alloc, schema_ref.DBSchemas)
	defer b.Release()
	if catalogMatches(cmd.GetCatalog()) && like(cmd.GetDBSchemaFilterPattern(), engine.SchemaName) {
		b.Field(0).(*array.StringBuilder).Append(engine.CatalogName)
		b.Field(1).(*array.StringBuilder).Append(engine.SchemaName)
	}
	return s.streamRecord(b.NewRecordBatch())
}

// GetFlightInfoTables implements flightsql.Server.
func (s *Server) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if cmd.GetIncludeSchema() {
		return s.metaInfo(desc, schema_ref.TablesWithIncludedSchema), nil
	}
	return s.metaInfo(desc, schema_ref.Tables), nil
}

// DoGetTables lists catalog tables, with their Arrow schemas on request.
func (s *Server) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	schema := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		schema = schema_ref.TablesWithIncludedSchema
	}
	b := array.NewRecordBuilder(s.Alloc, schema)
	defer b.Release()
	typeOK := len(cmd.GetTableTypes()) == 0
	for _, t := range cmd.GetTableTypes() {
		typeOK = typeOK || strings.EqualFold(t, "TABLE")
	}
	if typeOK && catalogMatches(cmd.GetCatalog()) && like(cmd.GetDBSchemaFilterPattern(), engine.SchemaName) {
		for _, t := range s.eng.Catalog().Snapshot().Tables {
			if !like(cmd.GetTableNameFilterPattern(), t.Name) {
				continue
			}
			var ser []byte
			if cmd.GetIncludeSchema() {
				info, err := s.eng.Describe(ctx, "SELECT * FROM "+engine.QuoteIdent(t.Name))
				if err != nil {
					continue // a table DuckDB cannot read right now is not listed
				}
				ser = flight.SerializeSchema(info.Schema, s.Alloc)
			}
			b.Field(0).(*array.StringBuilder).Append(engine.CatalogName)
			b.Field(1).(*array.StringBuilder).Append(engine.SchemaName)
			b.Field(2).(*array.StringBuilder).Append(t.Name)
			b.Field(3).(*array.StringBuilder).Append("TABLE")
			if cmd.GetIncludeSchema() {
				b.Field(4).(*array.BinaryBuilder).Append(ser)
			}
		}
	}
	return s.streamRecord(b.NewRecordBatch())
}

// GetFlightInfoTableTypes implements flightsql.Server.
func (s *Server) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metaInfo(desc, schema_ref.TableTypes), nil
}

// DoGetTableTypes lists the one table type, TABLE.
func (s *Server) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(s.Alloc, schema_ref.TableTypes)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("TABLE")
	return s.streamRecord(b.NewRecordBatch())
}

func catalogMatches(c *string) bool {
	return c == nil || *c == "" || *c == engine.CatalogName
}

// like matches a Flight SQL filter pattern (SQL LIKE: % and _, \ escapes);
// nil matches everything.
func like(pattern *string, s string) bool { return pattern == nil || sql.Like(*pattern, s) }
