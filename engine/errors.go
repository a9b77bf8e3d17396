package engine

import (
	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/live"

	"errors"
	"strings"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/sql"
)

var (
	// ErrCanceled is returned when the caller cancelled a query.
	ErrCanceled = duck.ErrCanceled
	// ErrTimeout is returned when a query ran past its deadline.
	ErrTimeout = duck.ErrTimeout
	// ErrMultipleStatements is returned for input holding more than one
	// statement: DuckDB would run all but the last while preparing.
	ErrMultipleStatements = sql.ErrMultipleStatements
	// ErrEmpty is returned for input holding no statement.
	ErrEmpty = sql.ErrEmpty
)

// Kind classifies an error; see package fault for the table that maps each
// Kind to what the front ends show.
type Kind = fault.Kind

// Kinds of DuckDB errors qry tells apart.
const (
	KindSyntax   = fault.Syntax   // Parser Error
	KindCatalog  = fault.Catalog  // unknown table, function, ...
	KindBinder   = fault.Binder   // unknown column, wrong types
	KindIO       = fault.IO       // a file could not be read
	KindInvalid  = fault.Invalid  // conversion, constraint, invalid input
	KindResource = fault.Resource // out of memory
	KindInternal = fault.Internal
)

// QueryError is an error DuckDB reported for a statement. Msg is DuckDB's own
// text on one line, which names the file, line or column at fault when it
// knows them; Line and Col (1-based, 0 when unknown) locate the error in the
// SQL text.
type QueryError = fault.Error

// ErrParams is returned when parameters do not match a statement.
var ErrParams = duck.ErrParams

// ErrReadOnly is returned, by a read-only engine (Options.ReadOnly), for
// statements that would write.
var ErrReadOnly = fault.New(fault.ReadOnly, "read-only: qry writes only by appending to writable tables")

// ErrBusy is returned when too many queries already wait for a connection.
var ErrBusy = fault.New(fault.Busy, "server busy: too many queries queued")

// ErrForbidden is wrapped by statements a sandbox refuses.
var ErrForbidden = sql.ErrForbidden

// ErrResultTooLarge is returned when a result passes Options.MaxResultRows
// or MaxResultBytes.
var ErrResultTooLarge = fault.New(fault.TooLarge, "result too large")

// clean turns the sandbox's served paths in a DuckDB error back into the
// files' own paths, and says where ST_* functions come from when the
// spatial extension is not loaded.
func (e *Engine) clean(err error) error {
	var qe *QueryError
	if !errors.As(err, &qe) {
		return err
	}
	served := e.served != nil && strings.Contains(qe.Msg, e.served.Dir)
	spatial := !e.spatial && qe.Kind == fault.Catalog && strings.Contains(strings.ToLower(qe.Msg), "function with name st_")
	if !served && !spatial {
		return err
	}
	cp := *qe
	if served {
		cp.Msg = e.served.Unmap(cp.Msg)
	}
	if spatial {
		cp.Msg += " (ST_ functions come with DuckDB's spatial extension, not loaded: see qry extensions)"
	}
	return &cp
}

// Errors of writes to the live tier (see package live).
var (
	// ErrNotWritable is returned for writes to a table that does not take
	// them.
	ErrNotWritable = live.ErrNotWritable
	// ErrStorage is wrapped by writes the disk did not take.
	ErrStorage = live.ErrStorage
	// ErrWrite is wrapped by writes refused for what they hold.
	ErrWrite = live.ErrWrite
	// ErrOtherWriter is wrapped by writes to a table another qry process
	// writes.
	ErrOtherWriter = live.ErrOtherWriter
)
