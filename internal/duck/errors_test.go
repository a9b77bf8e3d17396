//go:build duckdb_arrow

package duck

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/fault"
)

func TestDuckDBReports(t *testing.T) {
	for _, tc := range []struct {
		name, msg, ran string
		kind           fault.Kind
		text           string
		line, col      int
	}{
		{"binder", `{"exception_type":"Binder","exception_message":"Referenced column \"fair\" not found in FROM clause!\nCandidate bindings: \"fare\"","position":"7"}`,
			"SELECT fair FROM trips", fault.Binder, `Referenced column "fair" not found in FROM clause! Candidate bindings: "fare"`, 1, 8},
		{"extractor prefix", `Parser Error: {"exception_type":"Parser","exception_message":"syntax error at end of input","position":"10"}`,
			"SELECT 1 +", fault.Syntax, "syntax error at end of input", 1, 11},
		{"no position", `{"exception_type":"Out of Memory","exception_message":"could not allocate"}`, "SELECT 1", fault.Resource, "could not allocate", 0, 0},
		{"qry's own statement", `{"exception_type":"Catalog","exception_message":"x","position":"3"}`, "", fault.Catalog, "x", 0, 0},
		{"unknown type", `{"exception_type":"Stat","exception_message":"y"}`, "", fault.Internal, "y", 0, 0},
		{"not a report", "Invalid Input Error: something\n  odd", "", fault.Internal, "Invalid Input Error: something odd", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newError(tc.msg, tc.ran)
			qe, ok := err.(*fault.Error) //nolint:errorlint // newError returns one
			require.True(t, ok, "%T", err)
			require.Equal(t, tc.kind, qe.Kind)
			require.Equal(t, tc.text, qe.Msg)
			require.Equal(t, []int{tc.line, tc.col}, []int{qe.Line, qe.Col})
		})
	}
	require.ErrorIs(t, newError(`{"exception_type":"INTERRUPT","exception_message":"Interrupted!"}`, ""), ErrCanceled)
}
