//go:build duckdb_arrow

package duck

import (
	"encoding/json"
	"strconv"
	"strings"

	mapping "github.com/duckdb/duckdb-go-bindings"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/sql"
)

// DuckDB runs with errors_as_json (set at Open): every error reports its
// exception type, message and position.

// duckdbKinds maps DuckDB's exception types to kinds: the C API's error
// type (for ErrorData) and the name errors_as_json reports (for every
// other error). A type not listed is Internal.
var duckdbKinds = []struct {
	typ  mapping.ErrorType
	name string
	kind fault.Kind
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

// newError turns DuckDB's report of an error into a *fault.Error. ran is
// the statement DuckDB ran: its offset becomes Line and Col in ran (the
// engine moves them to the caller's text); "" for statements of qry's own,
// whose positions mean nothing to a user. An interrupt is ErrCanceled.
func newError(msg, ran string) error { return duckdbError(msg, fault.Internal, ran) }

// duckdbError reads msg as errors_as_json writes it. A message that is no
// such report (an error DuckDB raised outside a statement, or one the
// bindings made) keeps its text and gets the kind fallback.
func duckdbError(msg string, fallback fault.Kind, ran string) error {
	body := msg
	if i := strings.Index(msg, ": {"); i >= 0 && !strings.HasPrefix(msg, "{") {
		body = msg[i+2:] // the statement extractor puts DuckDB's class first
	}
	qe := &fault.Error{Kind: fallback, Msg: joinLines(msg)}
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

// Message is the message alone of DuckDB's report msg.
func Message(msg string) string { return duckdbError(msg, fault.Internal, "").Error() }

func kindOfName(name string) fault.Kind {
	for _, d := range duckdbKinds {
		if d.name == name {
			return d.kind
		}
	}
	return fault.Internal
}

func kindOfType(typ mapping.ErrorType) fault.Kind {
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
