// Command qry queries Parquet, CSV and GeoJSON files in place with SQL.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/qry-dev/qry/config"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/gcfloor"
)

func main() {
	gcfloor.Start(gcfloor.Floor)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var qe quietError
		var ce config.Errors
		switch {
		case errors.As(err, &qe):
		case errors.As(err, &ce):
			for _, e := range ce {
				fmt.Fprintln(os.Stderr, "qry: "+e.Error())
			}
		default:
			fmt.Fprintln(os.Stderr, "qry: "+fault.Text(err))
		}
		os.Exit(fault.KindOf(err).Exit())
	}
}

// usage is an error in how qry was called (fault.Usage: exit code 2).
func usage(format string, args ...any) error { return fault.Errorf(fault.Usage, format, args...) }
