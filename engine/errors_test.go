//go:build duckdb_arrow

package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

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
