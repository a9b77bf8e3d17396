package flightsql

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/qry-dev/qry/engine"
)

// ErrReadOnly is returned for statements that would write.
var ErrReadOnly = errors.New("read-only: qry writes only by appending to writable tables")

// ErrTooLarge is returned for a statement longer than the limit.
var ErrTooLarge = errors.New("statement too large")

// ErrUnknownHandle is returned for an expired or unknown statement handle.
var ErrUnknownHandle = errors.New("unknown or expired statement handle")

// toStatus translates an error to a gRPC status, in one place.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var qe *engine.QueryError
	switch {
	case errors.As(err, &qe):
		switch qe.Kind {
		case engine.KindSyntax, engine.KindCatalog, engine.KindBinder, engine.KindInvalid:
			return status.Error(codes.InvalidArgument, qe.Error())
		case engine.KindIO:
			return status.Error(codes.FailedPrecondition, qe.Error())
		case engine.KindResource:
			return status.Error(codes.ResourceExhausted, qe.Error())
		}
		return status.Error(codes.Internal, qe.Error())
	case errors.Is(err, engine.ErrCanceled), errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, engine.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, engine.ErrMultipleStatements), errors.Is(err, engine.ErrEmpty),
		errors.Is(err, engine.ErrParams), errors.Is(err, ErrReadOnly), errors.Is(err, engine.ErrWrite), errors.Is(err, ErrUpdate):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, ErrUnknownHandle):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, engine.ErrStorage):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, engine.ErrOtherWriter):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, engine.ErrForbidden), errors.Is(err, engine.ErrNotWritable):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, engine.ErrBusy), errors.Is(err, ErrTooLarge), errors.Is(err, engine.ErrResultTooLarge):
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}
