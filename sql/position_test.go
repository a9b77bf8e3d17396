package sql

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMapOffset(t *testing.T) {
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
			got, ok := MapOffset(ran, user, tc.ran)
			if tc.want < 0 {
				require.False(t, ok, "mapped to %d", got)
				return
			}
			require.True(t, ok)
			require.Equal(t, tc.want, got)
		})
	}
	// A shared prefix that ends inside a word is no shared word.
	_, ok := MapOffset("SELECT * FROM readings_x", "SELECT * FROM readings", len("SELECT * FROM read"))
	require.False(t, ok)
	// Identical texts map everywhere.
	got, ok := MapOffset(user, user, 7)
	require.True(t, ok)
	require.Equal(t, 7, got)
}

func TestOffsetOfInvertsLineCol(t *testing.T) {
	text := "-- é\nSELECT 'ü', x\n  FROM t"
	for off := range len(text) + 1 {
		if off < len(text) && text[off]&0xC0 == 0x80 {
			continue // inside a character
		}
		line, col := LineCol(text, off)
		require.Equal(t, off, Offset(text, line, col), "line %d col %d", line, col)
	}
}

// Like follows SQL's LIKE: % any run, _ one character (a rune), \ escapes.
func TestLike(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"trips", "trips", true},
		{"trips", "Trips", false},
		{"tr%", "trips", true},
		{"%ps", "trips", true},
		{"%", "", true},
		{"_", "", false},
		{"t_ips", "trips", true},
		{"t_ips", "tips", false},
		{"%i%", "trips", true},
		{"%x%", "trips", false},
		{"a\\_b", "a_b", true},
		{"a\\_b", "axb", false},
		{"a\\%", "a%", true},
		{"a\\%", "ab", false},
		{"_é", "ré", true},
		{"%%_", "a", true},
		{"%%_", "", false},
		{"a.c", "abc", false},
		{"(x)*", "(x)*", true},
	} {
		require.Equal(t, tc.want, Like(tc.pattern, tc.s), "%q LIKE %q", tc.s, tc.pattern)
	}
}

func TestIsValuesParams(t *testing.T) {
	for src, want := range map[string]bool{
		"VALUES (?, ?, ?)":     true,
		"values(?)":            true,
		"VALUES (?, ?), (?)":   false,
		"VALUES (?, 1)":        false,
		"VALUES ($1, $2)":      false,
		"VALUES (?, ?,)":       false,
		"SELECT ?":             false,
		"VALUES /* c */ (?,?)": true,
		"VALUES ()":            false,
	} {
		require.Equal(t, want, IsValuesParams(src), src)
	}
}
