//go:build duckdb_arrow

package engine

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	mapping "github.com/duckdb/duckdb-go-bindings"

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

// Kinds of DuckDB errors qry tells apart (duckdbKinds has the whole map).
const (
	KindSyntax   = fault.Syntax   // DuckDB's Parser and Syntax exceptions
	KindCatalog  = fault.Catalog  // unknown table, function, type
	KindBinder   = fault.Binder   // unknown column, types that do not fit
	KindIO       = fault.IO       // a file could not be read
	KindInvalid  = fault.Invalid  // conversion, constraint, invalid input
	KindResource = fault.Resource // out of memory
	KindInternal = fault.Internal
)

// QueryError is an error DuckDB reported for a statement. Msg is DuckDB's
// own message on one line, without DuckDB's class ("Binder Error: "): the
// Kind is the class, and front ends print its label. The message names the
// file, line or column at fault when DuckDB knows them; Line and Col
// (1-based, 0 when unknown) locate the error in the caller's SQL text.
type QueryError = fault.Error

// duckdbKinds maps DuckDB's exception types to kinds: the C API's error
// type (for ErrorData) and the name errors_as_json reports (for every
// other error). A type not listed is Internal.
var duckdbKinds = []struct {
	typ  mapping.ErrorType
	name string
	kind Kind
}{
	{mapping.ErrorTypeParser, "Parser", fault.Syntax},
	{mapping.ErrorTypeSyntax, "Syntax", fault.Syntax},
	{mapping.ErrorTypeCatalog, "Catalog", fault.Catalog},
	{mapping.ErrorTypeMissingExtension, "Missing Extension", fault.Catalog},
	{mapping.ErrorTypeAutoload, "Extension Autoloading", fault.Catalog},
	{mapping.ErrorTypeBinder, "Binder", fault.Binder},
	{mapping.ErrorTypeMismatchType, "Mismatch Type", fault.Binder},
	{mapping.ErrorTypeParameterNotResolved, "Parameter Not Resolved", fault.Params},
	{mapping.ErrorTypeParameterNotAllowed, "Parameter Not Allowed", fault.Params},
	{mapping.ErrorTypeErrorIO, "IO", fault.IO},
	{mapping.ErrorTypeHTTP, "HTTP", fault.IO},
	{mapping.ErrorTypeNetwork, "Network", fault.IO},
	{mapping.ErrorTypeInvalid, "Invalid", fault.Invalid},
	{mapping.ErrorTypeInvalidInput, "Invalid Input", fault.Invalid},
	{mapping.ErrorTypeInvalidType, "Invalid type", fault.Invalid},
	{mapping.ErrorTypeConversion, "Conversion", fault.Invalid},
	{mapping.ErrorTypeOutOfRange, "Out of Range", fault.Invalid},
	{mapping.ErrorTypeDecimal, "Decimal", fault.Invalid},
	{mapping.ErrorTypeDivideByZero, "Divide by Zero", fault.Invalid},
	{mapping.ErrorTypeObjectSize, "Object Size", fault.Invalid},
	{mapping.ErrorTypeConstraint, "Constraint", fault.Invalid},
	{mapping.ErrorTypeNotImplemented, "Not implemented", fault.Invalid},
	{mapping.ErrorTypeSettings, "Settings", fault.Invalid},
	{mapping.ErrorTypeInvalidConfiguration, "Invalid Configuration", fault.Invalid},
	{mapping.ErrorTypeSequence, "Sequence", fault.Invalid},
	{mapping.ErrorTypeDependency, "Dependency", fault.Invalid},
	// Under the sandbox DuckDB refuses files outside the served ones: a
	// refusal, as the gate's.
	{mapping.ErrorTypePermission, "Permission", fault.Forbidden},
	{mapping.ErrorTypeTransaction, "TransactionContext", fault.Conflict},
	{mapping.ErrorTypeOutOfMemory, "Out of Memory", fault.Resource},
	{mapping.ErrorTypeInterrupt, "INTERRUPT", fault.Canceled},
}

// duckdbReport is an error as DuckDB reports it with errors_as_json (set
// at Open): the exception's type, its message, and the byte offset of the
// culprit in the statement DuckDB ran.
type duckdbReport struct {
	Type     string `json:"exception_type"`
	Message  string `json:"exception_message"`
	Position string `json:"position"`
}

// newQueryError turns DuckDB's report of an error into a *QueryError. ran
// is the statement DuckDB ran: its offset becomes Line and Col in ran (see
// place for the caller's text); "" for statements of qry's own, whose
// positions mean nothing to a user. An interrupt is ErrCanceled.
func newQueryError(msg, ran string) error { return duckdbError(msg, fault.Internal, ran) }

// duckdbError reads msg as errors_as_json writes it. A message that is no
// such report (an error DuckDB raised outside a statement, or one the
// bindings made) keeps its text and gets the kind fallback.
func duckdbError(msg string, fallback Kind, ran string) error {
	body := msg
	if i := strings.Index(msg, ": {"); i >= 0 && !strings.HasPrefix(msg, "{") {
		body = msg[i+2:] // the statement extractor puts DuckDB's class first
	}
	qe := &QueryError{Kind: fallback, Msg: joinLines(msg)}
	var rep duckdbReport
	if err := json.Unmarshal([]byte(body), &rep); err == nil && rep.Type != "" {
		qe.Kind, qe.Msg = kindOfName(rep.Type), joinLines(rep.Message)
		if off, err := strconv.Atoi(rep.Position); err == nil && ran != "" {
			qe.Line, qe.Col = sql.LineCol(ran, off)
		}
	}
	if qe.Kind == fault.Canceled {
		return ErrCanceled
	}
	return qe
}

// duckdbMessage is the message alone of DuckDB's report msg.
func duckdbMessage(msg string) string { return duckdbError(msg, fault.Internal, "").Error() }

func kindOfName(name string) Kind {
	for _, d := range duckdbKinds {
		if d.name == name {
			return d.kind
		}
	}
	return fault.Internal
}

func kindOfType(typ mapping.ErrorType) Kind {
	for _, d := range duckdbKinds {
		if d.typ == typ {
			return d.kind
		}
	}
	return fault.Internal
}

// errorData is the error an ErrorData holds, or nil.
func errorData(ed mapping.ErrorData) error {
	defer mapping.DestroyErrorData(&ed)
	if !mapping.ErrorDataHasError(ed) {
		return nil
	}
	return duckdbError(mapping.ErrorDataMessage(ed), kindOfType(mapping.ErrorDataErrorType(ed)), "")
}

// place moves a DuckDB error's position from ran, the statement DuckDB
// ran, to user, the text the caller gave, when the engine ran another text
// (a rewrite of the references it pruned, an EXPLAIN prefix of its own, an
// INSERT into its staging table). A position in the part that differs
// cannot be trusted for the user's text and is dropped. Only an error that
// is a *QueryError itself is moved; others pass as they are.
func place(err error, ran, user string) error {
	qe, ok := err.(*QueryError) //nolint:errorlint // only an error that is a *QueryError itself moves; wrappers stay as they are
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

// joinLines puts DuckDB's message on one line: its lines trimmed, the
// empty ones left out, joined by spaces.
func joinLines(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, " ")
}

// ErrParams is returned when parameters do not match a statement.
var ErrParams = fault.New(fault.Params, "bad parameters")

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
