package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/qry-dev/qry/engine"
)

// ErrNotReady is returned while the catalog is loading.
var ErrNotReady = errors.New("not ready: the catalog is loading")

// ErrTooLarge is returned for a statement longer than the limit.
var ErrTooLarge = errors.New("statement too large")

// ErrUnauthorized is returned without a valid token.
var ErrUnauthorized = errors.New("a valid bearer token is required")

// ErrFormat is returned when no accepted media type can be produced.
var ErrFormat = errors.New("cannot produce any accepted media type")

// ErrRequest is wrapped by malformed requests.
var ErrRequest = errors.New("bad request")

// ErrNoTable is returned for an unknown table name.
var ErrNoTable = errors.New("no such table")

// httpStatus translates an error to an HTTP status, in one place.
func httpStatus(err error) int {
	var qe *engine.QueryError
	switch {
	case errors.As(err, &qe):
		switch qe.Kind {
		case engine.KindSyntax, engine.KindCatalog, engine.KindBinder, engine.KindInvalid:
			return http.StatusBadRequest
		case engine.KindResource:
			return http.StatusServiceUnavailable
		}
		return http.StatusInternalServerError
	case errors.Is(err, engine.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, engine.ErrCanceled), errors.Is(err, context.Canceled), errors.Is(err, ErrNotReady),
		errors.Is(err, engine.ErrStorage):
		return http.StatusServiceUnavailable
	case errors.Is(err, engine.ErrMultipleStatements), errors.Is(err, engine.ErrEmpty),
		errors.Is(err, engine.ErrParams), errors.Is(err, ErrRequest), errors.Is(err, engine.ErrWrite):
		return http.StatusBadRequest
	case errors.Is(err, engine.ErrForbidden), errors.Is(err, engine.ErrNotWritable):
		return http.StatusForbidden
	case errors.Is(err, engine.ErrBusy):
		return http.StatusTooManyRequests
	case errors.Is(err, engine.ErrOtherWriter):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge), errors.Is(err, engine.ErrResultTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, ErrFormat):
		return http.StatusNotAcceptable
	case errors.Is(err, ErrNoTable):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}
