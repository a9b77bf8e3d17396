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
	var qe *fault.Error
	if !errors.As(err, &qe) {
		return err
	}
	served := e.served != nil && strings.Contains(qe.Msg, e.served.Dir)
	low := strings.ToLower(qe.Msg)
	spatial := !e.spatial && qe.Kind == fault.Catalog &&
		(strings.Contains(low, `function with name "st_`) || strings.Contains(low, "function with name st_"))
	s3, _ := e.cat.Storage()
	remote := s3 != nil
	if !served && !spatial && !remote {
		return err
	}
	cp := *qe
	if served {
		cp.Msg = e.served.Unmap(cp.Msg)
	}
	if spatial {
		// DuckDB's advice (INSTALL spatial; LOAD spatial) is not qry's way:
		// extensions load from --extension-dir at start.
		if i := strings.Index(cp.Msg, " Please try installing"); i >= 0 {
			cp.Msg = strings.TrimRight(cp.Msg[:i], " ,.")
		}
		cp.Msg += ": ST_ functions beyond the built-in ones come with DuckDB's spatial extension, not loaded here: " +
			"put it in --extension-dir (qry extensions install spatial, or pip install duckdb-extension-spatial==1.5.5)"
	}
	if remote {
		if msg, ok := e.changedObject(cp.Msg); ok {
			cp.Kind, cp.Msg = fault.Unavailable, msg
		}
		cp.Msg = e.cat.NameObjects(cp.Msg)
	}
	return &cp
}

// changedObject words httpfs's error for an object whose ETag changed
// while a query read it (see prime), and has its table refreshed before
// the next query plans.
func (e *Engine) changedObject(msg string) (string, bool) {
	const mark = `ETag on reading file "`
	i := strings.Index(msg, mark)
	if i < 0 {
		return msg, false
	}
	path, _, ok := strings.Cut(msg[i+len(mark):], `"`)
	if !ok {
		return msg, false
	}
	s3, _ := e.cat.Storage()
	path = s3.Unmap(path) // httpfs may name it by its HTTP URL
	for _, t := range e.cat.Snapshot().Tables {
		for _, f := range t.Files {
			if f.Path == path {
				e.viewMu.Lock()
				e.stale[t.Name] = true
				e.viewMu.Unlock()
			}
		}
	}
	return "object " + path + " changed while the query read it: run the query again", true
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

// place moves a DuckDB error's position from ran, the statement DuckDB
// ran, to user, the text the caller gave, when the engine ran another text
// (a rewrite of the references it pruned, an EXPLAIN prefix of its own, an
// INSERT into its staging table). A position in the part that differs
// cannot be trusted for the user's text and is dropped. Only an error that
// is a *QueryError itself is moved; others pass as they are.
func place(err error, ran, user string) error {
	qe, ok := err.(*fault.Error) //nolint:errorlint // only an error that is a *QueryError itself moves; wrappers stay as they are
	if !ok || ran == user || qe.Line == 0 {
		return err
	}
	cp := *qe
	cp.Line, cp.Col = 0, 0
	if off, ok := sql.MapOffset(ran, user, sql.Offset(ran, qe.Line, qe.Col)); ok {
		cp.Line, cp.Col = sql.LineCol(user, off)
	}
	return &cp
}
