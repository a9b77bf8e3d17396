package engine

import (
	"errors"
	"strconv"
	"strings"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/sql"
)

var (
	// ErrCanceled is returned when the caller cancelled a query.
	ErrCanceled = fault.New(fault.Canceled, "query canceled")
	// ErrTimeout is returned when a query ran past its deadline.
	ErrTimeout = fault.New(fault.Timeout, "query timed out")
	// ErrMultipleStatements is returned for input holding more than one
	// statement: DuckDB would run all but the last while preparing.
	ErrMultipleStatements = sql.ErrMultipleStatements
	// ErrEmpty is returned for input holding no statement.
	ErrEmpty = sql.ErrEmpty
	// ErrClosed is returned after Close.
	ErrClosed = fault.New(fault.Unavailable, "engine closed")
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

func newQueryError(msg string) error {
	k := KindInternal
	switch head, _, _ := strings.Cut(msg, ":"); head {
	case "Parser Error", "Syntax Error":
		k = KindSyntax
	case "Catalog Error":
		k = KindCatalog
	case "Binder Error":
		k = KindBinder
	case "IO Error", "HTTP Error":
		k = KindIO
	case "Conversion Error", "Invalid Input Error", "Constraint Error", "Invalid Error",
		"Not implemented Error", "Permission Error", "Out of Range Error", "Invalid Configuration Error":
		k = KindInvalid
	case "Out of Memory Error":
		k = KindResource
	case "INTERRUPT Error":
		return ErrCanceled
	}
	qe := &fault.Error{Kind: k}
	// DuckDB appends "LINE n: <text>" and a line with a caret under the
	// error's position; turn them into Line and Col.
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	var keep []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if rest, ok := strings.CutPrefix(l, "LINE "); ok {
			num, _, ok := strings.Cut(rest, ":")
			if n, err := strconv.Atoi(num); ok && err == nil && i+1 < len(lines) {
				prefix := len("LINE ") + len(num) + 2
				if caret := strings.Index(lines[i+1], "^"); caret >= prefix {
					qe.Line, qe.Col = n, caret-prefix+1
					i++
					continue
				}
			}
		}
		if strings.TrimSpace(l) != "" {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	qe.Msg = strings.Join(keep, " ")
	return qe
}

// ErrParams is returned when parameters do not match a statement.
var ErrParams = fault.New(fault.Params, "parameters")

// ErrBusy is returned when too many queries already wait for a connection.
var ErrBusy = fault.New(fault.Busy, "server busy: too many queries queued")

// ErrForbidden is wrapped by statements a sandbox refuses.
var ErrForbidden = sql.ErrForbidden

// ErrResultTooLarge is returned when a result passes Options.MaxResultRows
// or MaxResultBytes.
var ErrResultTooLarge = fault.New(fault.TooLarge, "result too large")

// clean turns the sandbox's served paths in a DuckDB error back into the
// files' own paths.
func (e *Engine) clean(err error) error {
	var qe *QueryError
	if e.served == nil || !errors.As(err, &qe) || !strings.Contains(qe.Msg, e.served.dir) {
		return err
	}
	cp := *qe
	cp.Msg = e.served.unmap(cp.Msg)
	return &cp
}
