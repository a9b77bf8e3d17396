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
)

func main() {
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
			fmt.Fprintln(os.Stderr, "qry: "+oneLine(err))
		}
		os.Exit(exitCode(err))
	}
}

// usageError marks errors in how qry was called (exit code 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode is fault's exit code for err's Kind (see fault.ExitFailed and
// the codes beside it); a usage error is fault.ExitUsage.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return fault.ExitUsage
	}
	return fault.KindOf(err).Exit()
}
