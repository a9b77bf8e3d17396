package flightsql

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
)

// DefaultAddr is where qry serve listens unless told otherwise.
const DefaultAddr = "127.0.0.1:31337"

// ServeOptions configure Serve.
type ServeOptions struct {
	// Addr is host:port to listen on; empty means DefaultAddr.
	Addr string
	// Grace is how long in-flight streams may run on after ctx ends before
	// they are cancelled; 0 means 10 s.
	Grace time.Duration
	// Ready, if set, is called with the listening address once the server
	// accepts connections.
	Ready func(net.Addr)
	// Middleware wraps every call (auth, logging).
	Middleware []flight.ServerMiddleware
	// MaxMessage caps a received message in bytes; 0 means 16 MiB.
	MaxMessage int
}

// Serve serves srv until ctx ends, then shuts down gracefully: new calls are
// refused, in-flight streams get opts.Grace to finish, then are cancelled.
func Serve(ctx context.Context, srv *Server, opts ServeOptions) error {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.Grace <= 0 {
		opts.Grace = 10 * time.Second
	}
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = 16 << 20
	}
	gs := flight.NewServerWithMiddleware(opts.Middleware, grpc.MaxRecvMsgSize(opts.MaxMessage))
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
