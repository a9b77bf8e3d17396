package flightsql

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/qry-dev/qry/server/limit"
)

// DefaultAddr is where qry serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:31337"

// ServeOptions configure Serve.
type ServeOptions struct {
	// Addr is host:port to listen on; empty means DefaultAddr.
	Addr string
	// Grace is how long in-flight streams may run on after ctx ends before
	// they are cancelled; 0 means limit.DefaultGrace.
	Grace time.Duration
	// Ready, if set, is called with the listening address once the server
	// accepts connections.
	Ready func(net.Addr)
	// Middleware wraps every call (auth, logging).
	Middleware []flight.ServerMiddleware
	// MaxMessage caps a received message in bytes; 0 means 16 MiB.
	MaxMessage int
	// TLS, when set, serves TLS (and mTLS if it asks for client
	// certificates); plaintext clients are refused at the handshake.
	TLS *tls.Config
}

// Serve serves srv until ctx ends, then shuts down gracefully: new calls are
// refused, in-flight streams get opts.Grace to finish, then are cancelled.
func Serve(ctx context.Context, srv *Server, opts ServeOptions) error {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.Grace <= 0 {
		opts.Grace = limit.DefaultGrace
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = 16 << 20
	}
	gopts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(opts.MaxMessage),
		// Streams run on a pool of goroutines (a new one only when all
		// are busy, as for a long DoGet): 7-9% less server CPU per small
		// query than a goroutine per stream (SELECT 1 over ADBC, 1,000
		// queries, twice each way).
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
	}
	if opts.TLS != nil {
		gopts = append(gopts, grpc.Creds(credentials.NewTLS(opts.TLS)))
	}
	gs := flight.NewServerWithMiddleware(opts.Middleware, gopts...)
	gs.RegisterFlightService(srv.Service())
	if err := gs.Init(opts.Addr); err != nil {
		return fmt.Errorf("listen %s: %w", opts.Addr, err)
	}
	if opts.Ready != nil {
		opts.Ready(gs.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() {
		gs.Shutdown()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(opts.Grace):
		srv.CancelAll()
		<-stopped
	}
	return <-errc
}
