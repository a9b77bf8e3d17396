package fault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestTableIsWhole(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		r := table[k]
		require.NotEmpty(t, r.name, "kind %d has no row", k)
		require.False(t, seen[r.name], "name %q twice", r.name)
		seen[r.name] = true
		require.NotEmpty(t, r.label, r.name)
		require.NotZero(t, r.http, r.name)
		require.NotZero(t, r.exit, r.name)
		got, ok := Parse(r.name)
		require.True(t, ok)
		require.Equal(t, k, got)
	}
	_, ok := Parse("nope")
	require.False(t, ok)
}

var errBusy = New(Busy, "server busy")

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"sentinel", errBusy, Busy},
		{"wrapped sentinel", fmt.Errorf("query: %w", errBusy), Busy},
		{"errorf", Errorf(Storage, "write not saved: %w", errors.New("disk full")), Storage},
		{"outermost wins", Errorf(Forbidden, "refused: %w", errBusy), Forbidden},
		{"joined", errors.Join(errors.New("plain"), errBusy), Busy},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), Canceled},
		{"deadline", context.DeadlineExceeded, Timeout},
		{"plain", errors.New("plain"), Internal},
		{"nil", nil, Internal},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, KindOf(tc.err)) })
	}
	require.ErrorIs(t, fmt.Errorf("a: %w", Errorf(Storage, "b: %w", errBusy)), errBusy)
}

func TestStatusRoundTrip(t *testing.T) {
	orig := &Error{Kind: Binder, Msg: `column "fair" not found`, Line: 2, Col: 8}
	st := Status(fmt.Errorf("prepare: %w", orig))
	require.Equal(t, codes.InvalidArgument, KindOf(orig).GRPC())
	back := FromStatus(st)
	var fe *Error
	require.ErrorAs(t, back, &fe)
	require.Equal(t, Binder, fe.Kind)
	require.Equal(t, 2, fe.Line)
	require.Equal(t, 8, fe.Col)
	require.Equal(t, `prepare: column "fair" not found`, fe.Msg)
	require.Equal(t, `prepare: column "fair" not found (line 2, column 8)`, back.Error())

	// A status passes through unchanged.
	require.Equal(t, st, Status(st))
	// A non-status passes FromStatus unchanged.
	plain := errors.New("x")
	require.Equal(t, plain, FromStatus(plain))
}

func TestBodyRoundTrip(t *testing.T) {
	err := fmt.Errorf("q: %w", &Error{Kind: Syntax, Msg: "syntax error at end of input", Line: 1, Col: 26})
	b := BodyOf(err)
	require.Equal(t, "syntax", b.Kind)
	require.Equal(t, Syntax.HTTP(), http.StatusBadRequest)
	back := FromBody(b)
	require.Equal(t, Syntax, back.Kind)
	require.Equal(t, err.Error(), back.Error())
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"label and message", &Error{Kind: Binder, Msg: `Referenced column "fair" not found`, Line: 1, Col: 8},
			`Binder error: Referenced column "fair" not found (line 1, column 8)`},
		{"the message names the class", &Error{Kind: Syntax, Msg: `syntax error at or near "trips"`}, `syntax error at or near "trips"`},
		{"wrapped", fmt.Errorf("stdin line 4: %w", New(Catalog, "Table with name x does not exist!")),
			"Catalog error: stdin line 4: Table with name x does not exist!"},
		{"one line", Errorf(Invalid, "a\n  b"), "Invalid input: a b"},
		{"deadline", context.DeadlineExceeded, "Timed out: context deadline exceeded"},
		{"canceled", fmt.Errorf("q: %w", context.Canceled), "q: context canceled"},
		{"unclassified", errors.New("open x.sql: no such file or directory"), "open x.sql: no such file or directory"},
		{"classified internal", New(Internal, "bug"), "Internal error: bug"},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, Text(tc.err)) })
	}
}

func TestBareStatus(t *testing.T) {
	for code, want := range map[codes.Code]Kind{
		codes.InvalidArgument:  Invalid,
		codes.PermissionDenied: Forbidden,
		codes.NotFound:         NotFound,
		codes.DeadlineExceeded: Timeout,
		codes.Unavailable:      Unavailable,
		codes.Unimplemented:    Internal,
	} {
		err := FromStatus(status.Error(code, "m"))
		require.Equal(t, want, KindOf(err), code.String())
		require.Equal(t, "m", err.Error())
	}
}
