package engine

import (
	"unicode/utf8"

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
	if off, ok := userOffset(ran, user, offsetOf(ran, qe.Line, qe.Col)); ok {
		cp.Line, cp.Col = sql.LineCol(user, off)
	}
	return &cp
}

// offsetOf is the byte offset of a 1-based line and column (in runes) in
// text: the inverse of sql.LineCol.
func offsetOf(text string, line, col int) int {
	off := 0
	for range line - 1 {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for range col - 1 {
		if off >= len(text) {
			return -1
		}
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
	}
	return off
}

// userOffset maps a byte offset in ran to the same place in user: ran and
// user share a prefix and a suffix (each cut back so that no word is split
// between the shared and the changed part); an offset in either maps, one
// in between does not.
func userOffset(ran, user string, off int) (int, bool) {
	if off < 0 || off > len(ran) {
		return 0, false
	}
	p := 0
	for p < len(ran) && p < len(user) && ran[p] == user[p] {
		p++
	}
	for p > 0 && isWordByte(ran[p-1]) && (p < len(ran) && isWordByte(ran[p]) || p < len(user) && isWordByte(user[p])) {
		p--
	}
	s := 0
	for s < len(ran)-p && s < len(user)-p && ran[len(ran)-1-s] == user[len(user)-1-s] {
		s++
	}
	for s > 0 {
		i, j := len(ran)-s, len(user)-s
		if !isWordByte(ran[i]) || !(i > 0 && isWordByte(ran[i-1]) || j > 0 && isWordByte(user[j-1])) {
			break
		}
		s--
	}
	switch {
	case off < p:
		return off, true
	case off >= len(ran)-s && s > 0:
		return off - len(ran) + len(user), true
	}
	return 0, false
}

// isWordByte reports whether b may be part of a word: an identifier, a
// keyword, a number, or any byte of a non-ASCII character.
func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}
