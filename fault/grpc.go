package fault

import (
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Status turns err into a gRPC status error: the Kind's code, the message,
// and an ErrorInfo detail (Domain, Reason = the Kind's name, metadata line
// and column when known). An error that already is a status passes as it is.
func Status(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	k := KindOf(err)
	st := status.New(k.GRPC(), err.Error())
	info := &errdetails.ErrorInfo{Domain: Domain, Reason: k.String()}
	if line, col := Position(err); line > 0 {
		info.Metadata = map[string]string{"line": strconv.Itoa(line), "column": strconv.Itoa(col)}
	}
	if with, derr := st.WithDetails(info); derr == nil {
		st = with
	}
	return st.Err()
}

// FromStatus turns a gRPC status error from a qry server back into an
// *Error with its Kind, message and position. A status without qry's
// details keeps its message and gets the Kind its code suggests; an error
// that is no status is returned as it is.
func FromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok || err == nil {
		return err
	}
	out := &Error{Kind: kindOfCode(st), Msg: st.Message()}
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != Domain {
			continue
		}
		if k, ok := Parse(info.GetReason()); ok {
			out.Kind = k
		}
		out.Line, _ = strconv.Atoi(info.GetMetadata()["line"])
		out.Col, _ = strconv.Atoi(info.GetMetadata()["column"])
		// The message ends with the position Error adds; keep it once.
		if out.Line > 0 {
			out.Msg = trimPosition(out.Msg, out.Line, out.Col)
		}
	}
	return out
}

// kindOfCode is the Kind a status without qry's details is taken for: the
// most general Kind with its code (InvalidArgument is Invalid, not Syntax);
// a code qry does not send is Internal.
func kindOfCode(st *status.Status) Kind {
	switch c := st.Code(); c {
	case codes.InvalidArgument:
		return Invalid
	case codes.PermissionDenied:
		return Forbidden
	case codes.ResourceExhausted:
		return Resource
	case codes.FailedPrecondition:
		return Conflict
	case codes.Unavailable:
		return Unavailable
	default:
		for k := range numKinds {
			if table[k].grpc == c {
				return k
			}
		}
	}
	return Internal
}

// FromBody turns an HTTP error body back into an *Error.
func FromBody(b Body) *Error {
	k, _ := Parse(b.Kind)
	msg := b.Error
	if b.Line > 0 {
		msg = trimPosition(msg, b.Line, b.Column)
	}
	return &Error{Kind: k, Msg: msg, Line: b.Line, Col: b.Column}
}

func trimPosition(msg string, line, col int) string {
	suffix := " (line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ")"
	if len(msg) >= len(suffix) && msg[len(msg)-len(suffix):] == suffix {
		return msg[:len(msg)-len(suffix)]
	}
	return msg
}
