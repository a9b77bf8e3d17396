//go:build duckdb_arrow

package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/sql"
)

func TestUserOffset(t *testing.T) {
	user := `SELECT nope FROM trips t WHERE fare > 1`
	ran := `SELECT nope FROM read_parquet(['/a.parquet']) AS "t" WHERE fare > 1`
	at := func(text, s string) int {
		for i := range len(text) - len(s) + 1 {
			if text[i:i+len(s)] == s {
				return i
			}
		}
		t.Fatalf("%q not in %q", s, text)
		return -1
	}
	for _, tc := range []struct {
		name string
		ran  int
		want int // -1: no position
	}{
		{"before the rewrite", at(ran, "nope"), at(user, "nope")},
		{"after the rewrite", at(ran, "fare"), at(user, "fare")},
		{"inside the rewrite", at(ran, "read_parquet"), -1},
		{"inside the rewrite, its last word", at(ran, `"t"`), -1},
		{"the end of the text", len(ran), len(user)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := userOffset(ran, user, tc.ran)
			if tc.want < 0 {
				require.False(t, ok, "mapped to %d", got)
				return
			}
			require.True(t, ok)
			require.Equal(t, tc.want, got)
		})
	}
	// A shared prefix that ends inside a word is no shared word.
	_, ok := userOffset("SELECT * FROM readings_x", "SELECT * FROM readings", len("SELECT * FROM read"))
	require.False(t, ok)
	// Identical texts map everywhere.
	got, ok := userOffset(user, user, 7)
	require.True(t, ok)
	require.Equal(t, 7, got)
}

func TestOffsetOfInvertsLineCol(t *testing.T) {
	text := "-- é\nSELECT 'ü', x\n  FROM t"
	for off := range len(text) + 1 {
		if off < len(text) && text[off]&0xC0 == 0x80 {
			continue // inside a character
		}
		line, col := sql.LineCol(text, off)
		require.Equal(t, off, offsetOf(text, line, col), "line %d col %d", line, col)
	}
}

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
			err := newQueryError(tc.msg, tc.ran)
			qe, ok := err.(*QueryError) //nolint:errorlint // newQueryError returns one
			require.True(t, ok, "%T", err)
			require.Equal(t, tc.kind, qe.Kind)
			require.Equal(t, tc.text, qe.Msg)
			require.Equal(t, []int{tc.line, tc.col}, []int{qe.Line, qe.Col})
		})
	}
	require.ErrorIs(t, newQueryError(`{"exception_type":"INTERRUPT","exception_message":"Interrupted!"}`, ""), ErrCanceled)
}
