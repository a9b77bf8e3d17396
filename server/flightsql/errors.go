package flightsql

import (
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
)

// ErrReadOnly is returned for statements that would write.
var ErrReadOnly = engine.ErrReadOnly

// ErrUnknownHandle is returned for an expired or unknown statement handle.
var ErrUnknownHandle = fault.New(fault.NotFound, "unknown or expired statement handle")

// toStatus translates an error to a gRPC status, in one place: the code
// comes from the error's fault.Kind, and the status details carry the Kind
// and the position in the SQL text.
func toStatus(err error) error { return fault.Status(err) }
