// Package limit holds the bounds both servers (Flight SQL and HTTP) put on
// a request, their defaults, and the error of a request past one: the two
// servers and qry serve's flags take them from here, so they agree.
//
// A zero value in a server's options means the default here.
package limit

import (
	"fmt"
	"time"

	"github.com/qry-dev/qry/fault"
)

// The defaults.
const (
	// DefaultSQLBytes bounds a statement's text.
	DefaultSQLBytes = 1 << 20
	// DefaultQueryTimeout bounds a statement's run.
	DefaultQueryTimeout = 10 * time.Minute
	// DefaultGrace is how long requests under way may go on once a server
	// is told to stop.
	DefaultGrace = 10 * time.Second
)

// ErrTooLarge is returned for a request past a size limit: a statement's
// text, or one write.
var ErrTooLarge = fault.New(fault.TooLarge, "request too large")

// SQL checks a statement's text against max bytes.
func SQL(sql string, max int) error {
	if len(sql) > max {
		return fmt.Errorf("%w: the statement has %d bytes, the limit is %d", ErrTooLarge, len(sql), max)
	}
	return nil
}
