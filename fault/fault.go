// Package fault is qry's one error vocabulary: every failure a user can meet
// has a Kind, and one table maps each Kind to the gRPC code, the HTTP
// status, the CLI exit code and the label the front ends show.
//
// A package declares its sentinels with New, so errors.Is keeps working and
// every front end classifies them the same way:
//
//	var ErrBusy = fault.New(fault.Busy, "server busy: too many queries queued")
//
// Errors that carry a position in the SQL text are *Error values with Line
// and Col; they travel in gRPC status details and in the HTTP error body, so
// a remote shell can show the caret too.
//
// fault is a leaf: it imports nothing of qry's.
package fault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
)

// Kind is a class of failure.
type Kind uint8

// The kinds. The zero Kind is Internal: what qry cannot classify is its own
// fault until shown otherwise.
const (
	Internal        Kind = iota // a bug, or an error nothing classified
	Syntax                      // the SQL does not parse
	Catalog                     // an unknown table, function or type
	Binder                      // an unknown column, or types that do not fit
	Invalid                     // a value that cannot be converted or is out of range
	Params                      // parameters that do not match the statement
	Statement                   // not exactly one statement
	Forbidden                   // refused by the sandbox
	ReadOnly                    // a write to a table that is not writable
	BadWrite                    // rows that do not fit a writable table
	NotFound                    // an unknown table name or statement handle
	IO                          // a file could not be read
	Storage                     // a write could not be saved
	Conflict                    // another process holds what is needed
	Busy                        // too many queries already wait
	TooLarge                    // a statement or result past its limit
	Resource                    // out of memory or temporary space
	Timeout                     // past the query's deadline
	Canceled                    // the caller gave up
	Unavailable                 // not ready yet (the catalog is loading)
	Stale                       // what a request was planned against changed: plan it again
	Unauthenticated             // no valid credentials
	NotAcceptable               // no accepted output format can be produced
	BadRequest                  // a malformed request
	Usage                       // qry was called wrongly (flags, arguments)
	numKinds
)

// Exit codes of the qry command. 0 is success.
const (
	ExitFailed    = 1   // the query or its data is at fault
	ExitUsage     = 2   // the command line is at fault
	ExitRetry     = 3   // a passing condition: busy, timed out, out of resources, not ready
	ExitForbidden = 4   // refused: the sandbox, credentials, a read-only table
	ExitCanceled  = 130 // interrupted, as shells report SIGINT
)

// row is one line of the table.
type row struct {
	name  string     // lower-case, stable: the wire name
	label string     // what a front end prints before the message
	grpc  codes.Code // gRPC status code
	http  int        // HTTP status
	exit  int        // qry's exit code
}

var table = [numKinds]row{
	Internal:        {"internal", "Internal error", codes.Internal, http.StatusInternalServerError, ExitFailed},
	Syntax:          {"syntax", "Syntax error", codes.InvalidArgument, http.StatusBadRequest, ExitFailed},
	Catalog:         {"catalog", "Catalog error", codes.InvalidArgument, http.StatusBadRequest, ExitFailed},
	Binder:          {"binder", "Binder error", codes.InvalidArgument, http.StatusBadRequest, ExitFailed},
	Invalid:         {"invalid", "Invalid input", codes.InvalidArgument, http.StatusBadRequest, ExitFailed},
	Params:          {"params", "Bad parameters", codes.InvalidArgument, http.StatusBadRequest, ExitFailed},
	Statement:       {"statement", "Statement error", codes.InvalidArgument, http.StatusBadRequest, ExitFailed},
	Forbidden:       {"forbidden", "Not allowed", codes.PermissionDenied, http.StatusForbidden, ExitForbidden},
	ReadOnly:        {"read_only", "Read-only", codes.PermissionDenied, http.StatusForbidden, ExitForbidden},
	BadWrite:        {"bad_write", "Write refused", codes.InvalidArgument, http.StatusBadRequest, ExitFailed},
	NotFound:        {"not_found", "Not found", codes.NotFound, http.StatusNotFound, ExitFailed},
	IO:              {"io", "IO error", codes.FailedPrecondition, http.StatusUnprocessableEntity, ExitFailed},
	Storage:         {"storage", "Storage error", codes.Unavailable, http.StatusServiceUnavailable, ExitRetry},
	Conflict:        {"conflict", "Conflict", codes.FailedPrecondition, http.StatusConflict, ExitFailed},
	Busy:            {"busy", "Busy", codes.ResourceExhausted, http.StatusTooManyRequests, ExitRetry},
	TooLarge:        {"too_large", "Too large", codes.ResourceExhausted, http.StatusRequestEntityTooLarge, ExitFailed},
	Resource:        {"resource", "Out of resources", codes.ResourceExhausted, http.StatusServiceUnavailable, ExitRetry},
	Timeout:         {"timeout", "Timed out", codes.DeadlineExceeded, http.StatusGatewayTimeout, ExitRetry},
	Canceled:        {"canceled", "Canceled", codes.Canceled, 499, ExitCanceled},
	Unavailable:     {"unavailable", "Unavailable", codes.Unavailable, http.StatusServiceUnavailable, ExitRetry},
	Stale:           {"stale", "Stale", codes.FailedPrecondition, http.StatusConflict, ExitRetry},
	Unauthenticated: {"unauthenticated", "Unauthenticated", codes.Unauthenticated, http.StatusUnauthorized, ExitForbidden},
	NotAcceptable:   {"not_acceptable", "Not acceptable", codes.InvalidArgument, http.StatusNotAcceptable, ExitUsage},
	BadRequest:      {"bad_request", "Bad request", codes.InvalidArgument, http.StatusBadRequest, ExitUsage},
	Usage:           {"usage", "Usage error", codes.InvalidArgument, http.StatusBadRequest, ExitUsage},
}

func (k Kind) row() row {
	if k >= numKinds {
		return table[Internal]
	}
	return table[k]
}

// String is the Kind's wire name ("syntax", "read_only", ...).
func (k Kind) String() string { return k.row().name }

// Label is what a front end prints before a message of this Kind.
func (k Kind) Label() string { return k.row().label }

// GRPC is the Kind's gRPC status code.
func (k Kind) GRPC() codes.Code { return k.row().grpc }

// HTTP is the Kind's HTTP status.
func (k Kind) HTTP() int { return k.row().http }

// Exit is the qry command's exit code for a failure of this Kind.
func (k Kind) Exit() int { return k.row().exit }

// Retry says whether the same request may succeed later unchanged.
func (k Kind) Retry() bool { return k.row().exit == ExitRetry }

// Parse returns the Kind named name (its String), or false.
func Parse(name string) (Kind, bool) {
	for k := range numKinds {
		if table[k].name == name {
			return k, true
		}
	}
	return Internal, false
}

// Kinds lists every Kind, in order.
func Kinds() []Kind {
	out := make([]Kind, numKinds)
	for k := range numKinds {
		out[k] = k
	}
	return out
}

// Error is a classified failure. Msg is one line; Line and Col (1-based, 0
// when unknown) locate it in the SQL text.
type Error struct {
	Kind      Kind
	Msg       string
	Line, Col int
}

// New returns a sentinel of kind k: compare with errors.Is, wrap with %w.
func New(k Kind, msg string) *Error { return &Error{Kind: k, Msg: msg} }

// Errorf returns an error of kind k with a formatted message; %w wraps as
// fmt.Errorf does.
func Errorf(k Kind, format string, args ...any) error {
	return &wrapped{kind: k, err: fmt.Errorf(format, args...)}
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s (line %d, column %d)", e.Msg, e.Line, e.Col)
	}
	return e.Msg
}

// wrapped gives an error a Kind without hiding what it wraps.
type wrapped struct {
	kind Kind
	err  error
}

func (w *wrapped) Error() string { return w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// KindOf classifies err: the outermost Kind found along its chain wins;
// context cancellation and deadlines are Canceled and Timeout; anything
// else is Internal.
func KindOf(err error) Kind {
	k, _ := classify(err)
	return k
}

// classify is KindOf, and whether anything along err's chain classified
// it.
func classify(err error) (Kind, bool) {
	for e := err; e != nil; {
		switch v := e.(type) { //nolint:errorlint // walks the chain itself: the outermost Kind wins
		case *Error:
			return v.Kind, true
		case *wrapped:
			return v.kind, true
		case interface{ Unwrap() []error }:
			for _, c := range v.Unwrap() {
				if k, ok := classify(c); ok && k != Internal {
					return k, true
				}
			}
			return kindOfContext(err)
		}
		e = errors.Unwrap(e)
	}
	return kindOfContext(err)
}

func kindOfContext(err error) (Kind, bool) {
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled, true
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout, true
	}
	return Internal, false
}

// Text is err as the CLI and the shell print it, on one line: the Kind's
// label, a colon, the message ("Binder error: Referenced column ...").
// The label is left out where it would name the class twice, as the
// message names it already ("syntax error at or near ...", "query
// canceled"), and for an error nothing classified, which is shown as it
// is rather than called internal.
func Text(err error) string {
	if err == nil {
		return ""
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	k, ok := classify(err)
	if !ok || strings.Contains(strings.ToLower(msg), strings.ToLower(k.Label())) {
		return msg
	}
	return k.Label() + ": " + msg
}

// Position returns the line and column (1-based) err carries, or zeros.
func Position(err error) (line, col int) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Line, fe.Col
	}
	return 0, 0
}

// Body is the JSON body of every HTTP error answer, and what a gRPC status
// carries in its details (as an ErrorInfo whose Reason is Kind and whose
// metadata hold line and column).
type Body struct {
	Error  string `json:"error"`
	Kind   string `json:"kind"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// BodyOf describes err for the wire.
func BodyOf(err error) Body {
	line, col := Position(err)
	return Body{Error: err.Error(), Kind: KindOf(err).String(), Line: line, Column: col}
}

// Domain is the ErrorInfo domain of qry's gRPC status details.
const Domain = "qry.dev"
