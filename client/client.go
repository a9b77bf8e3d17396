// Package client talks to a remote qry (or any Flight SQL server) with
// arrow-go's Flight SQL client, so the CLI and the shell work the same local
// or remote.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/qry-dev/qry/fault"
	qsql "github.com/qry-dev/qry/sql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// ErrURL is returned for a server URL qry cannot use.
var ErrURL = fault.New(fault.Usage, "server URL")

// Client is a connection to a Flight SQL server.
type Client struct {
	c *flightsql.Client
}

// Options configure a connection. The zero value connects in plaintext
// without a token.
type Options struct {
	// Token is sent as "authorization: Bearer <token>" on every call.
	Token string
	// CAFile verifies the server's certificate (grpc+tls://); empty means
	// the system's roots.
	CAFile string
	// CertFile and KeyFile are the client's certificate for mTLS.
	CertFile, KeyFile string
}

// Dial connects to grpc://HOST:PORT (plaintext, or bare HOST:PORT) or
// grpc+tls://HOST:PORT.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	addr, useTLS := url, false
	switch {
	case strings.HasPrefix(url, "grpc://"):
		addr = strings.TrimPrefix(url, "grpc://")
	case strings.HasPrefix(url, "grpc+tls://"):
		addr, useTLS = strings.TrimPrefix(url, "grpc+tls://"), true
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("%w %q: use grpc://HOST:PORT or grpc+tls://HOST:PORT", ErrURL, url)
	}
	dial := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256 << 20))}
	if useTLS {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, fmt.Errorf("server CA: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("server CA %s: no certificate", opts.CAFile)
			}
		}
		if opts.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("client certificate: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	} else {
		dial = append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if opts.Token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer(opts.Token)))
	}
	c, err := flightsql.NewClientCtx(ctx, addr, nil, nil, dial...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	return &Client{c: c}, nil
}

// bearer sends a token on every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// Close closes the connection.
func (c *Client) Close() error { return c.c.Close() }

// Query runs one statement and returns its result as a stream that reads
// the endpoints one after the other. The caller releases it. An INSERT is
// sent as an update, and its result is the rows written (one column,
// Count), as a local engine answers it.
func (c *Client) Query(ctx context.Context, sql string) (array.RecordReader, error) {
	if _, ok := qsql.ParseInsert(sql); ok {
		return c.update(ctx, sql)
	}
	info, err := c.c.Execute(ctx, sql)
	if err != nil {
		return nil, remote(ctx, err)
	}
	return c.read(ctx, info)
}

func (c *Client) update(ctx context.Context, sql string) (array.RecordReader, error) {
	n, err := c.c.ExecuteUpdate(ctx, sql)
	if err != nil {
		return nil, remote(ctx, err)
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "Count", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(c.c.Alloc)
	defer b.Release()
	b.Append(n)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1)
	defer rec.Release()
	return array.NewRecordReader(schema, []arrow.RecordBatch{rec})
}

// Tables lists the server's tables with their schemas.
func (c *Client) Tables(ctx context.Context) (array.RecordReader, error) {
	info, err := c.c.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true})
	if err != nil {
		return nil, remote(ctx, err)
	}
	return c.read(ctx, info)
}

func (c *Client) read(ctx context.Context, info *flight.FlightInfo) (array.RecordReader, error) {
	r := &reader{ctx: ctx, c: c, eps: info.GetEndpoint()}
	if err := r.open(); err != nil {
		return nil, err
	}
	if r.cur == nil {
		// No endpoint: the schema alone, from the FlightInfo.
		schema, err := flight.DeserializeSchema(info.GetSchema(), c.c.Alloc)
		if err != nil {
			return nil, fmt.Errorf("result schema: %w", err)
		}
		return array.NewRecordReader(schema, nil)
	}
	return r, nil
}

// reader chains the streams of a FlightInfo's endpoints.
type reader struct {
	ctx  context.Context
	c    *Client
	eps  []*flight.FlightEndpoint
	cur  *flight.Reader
	refs int64
	err  error
}

func (r *reader) open() error {
	if len(r.eps) == 0 {
		return nil
	}
	ep := r.eps[0]
	r.eps = r.eps[1:]
	rd, err := r.c.c.DoGet(r.ctx, ep.GetTicket())
	if err != nil {
		return remote(r.ctx, err)
	}
	if r.cur != nil {
		r.cur.Release()
	}
	r.cur = rd
	r.refs = 1
	return nil
}

func (r *reader) Schema() *arrow.Schema { return r.cur.Schema() }

func (r *reader) Next() bool {
	for {
		if r.err != nil {
			return false
		}
		if r.cur.Next() {
			return true
		}
		if err := r.cur.Err(); err != nil {
			r.err = remote(r.ctx, err)
			return false
		}
		if len(r.eps) == 0 {
			return false
		}
		if err := r.open(); err != nil {
			r.err = err
			return false
		}
	}
}

func (r *reader) RecordBatch() arrow.RecordBatch { return r.cur.RecordBatch() }

func (r *reader) Record() arrow.RecordBatch { return r.cur.RecordBatch() }

func (r *reader) Err() error { return r.err }

func (r *reader) Retain() { r.refs++ }

func (r *reader) Release() {
	r.refs--
	if r.refs == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

// remote turns a call's error into the server's: a *fault.Error with its
// Kind, message and position in the SQL text (fault.FromStatus), so that a
// remote error prints and exits as a local one. When ctx ended, that is the
// error (gRPC words it as a stream reset).
func remote(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return fault.FromStatus(err)
}

// Subscription is a subscription's stream (see Client.Subscribe).
type Subscription struct {
	stream flight.FlightService_DoGetClient
	r      *flight.Reader
	seq    uint64
	err    error
	cancel context.CancelFunc
}

// Subscribe subscribes to sql on the server: each batch of rows it sends,
// as writers commit them, and without end. With from, it resumes after
// that sequence number. Close it when done.
func (c *Client) Subscribe(ctx context.Context, sql string, from *uint64) (*Subscription, error) {
	ticket, err := json.Marshal(struct {
		SQL  string  `json:"subscribe"`
		From *uint64 `json:"from,omitempty"`
	}{sql, from})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.c.Client.DoGet(ctx, &flight.Ticket{Ticket: ticket})
	if err != nil {
		cancel()
		return nil, remote(ctx, err)
	}
	r, err := flight.NewRecordReader(stream, ipc.WithAllocator(c.c.Alloc))
	if err != nil {
		cancel()
		return nil, remote(ctx, err)
	}
	s := &Subscription{stream: stream, r: r, cancel: cancel}
	if from != nil {
		s.seq = *from
	}
	return s, nil
}

// Schema is the schema of the subscription's batches.
func (s *Subscription) Schema() *arrow.Schema { return s.r.Schema() }

// Next waits for the next batch (valid until the next call) and the
// sequence number the stream is complete up to with it. At the end it
// returns nil and Err says why.
func (s *Subscription) Next() (arrow.RecordBatch, uint64) {
	if !s.r.Next() {
		s.err = remote(s.stream.Context(), s.r.Err())
		return nil, s.seq
	}
	var md struct {
		Seq uint64 `json:"seq"`
	}
	if json.Unmarshal(s.r.LatestAppMetadata(), &md) == nil {
		s.seq = md.Seq
	}
	return s.r.RecordBatch(), s.seq
}

// Err is why the stream ended.
func (s *Subscription) Err() error { return s.err }

// Seq is how far the stream is complete: resume after it.
func (s *Subscription) Seq() uint64 { return s.seq }

// Close ends the subscription.
func (s *Subscription) Close() {
	s.cancel()
	s.r.Release()
}
