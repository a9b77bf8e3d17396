package httpapi

import "github.com/qry-dev/qry/fault"

// ErrNotReady is returned while the catalog is loading.
var ErrNotReady = fault.New(fault.Unavailable, "not ready: the catalog is loading")

// ErrUnauthorized is returned without a valid token.
var ErrUnauthorized = fault.New(fault.Unauthenticated, "a valid bearer token is required")

// ErrNotAcceptable is returned when no accepted media type (or ?format=)
// can be produced.
var ErrNotAcceptable = fault.New(fault.NotAcceptable, "cannot produce any accepted media type")

// ErrRequest is wrapped by malformed requests.
var ErrRequest = fault.New(fault.BadRequest, "bad request")

// ErrNoTable is returned for an unknown table name.
var ErrNoTable = fault.New(fault.NotFound, "no such table")

// httpStatus translates an error to an HTTP status, in one place: the
// error's fault.Kind decides.
func httpStatus(err error) int { return fault.KindOf(err).HTTP() }
