//go:build duckdb_arrow

package engine

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMemo(t *testing.T) {
	var m memo[int]
	_, ok := m.get(1, "SELECT 1")
	require.False(t, ok)
	m.put(1, "SELECT 1", 1)
	v, ok := m.get(1, "SELECT 1")
	require.True(t, ok)
	require.Equal(t, 1, v)
	_, ok = m.get(2, "SELECT 1")
	require.False(t, ok, "another catalog version sees nothing kept at the first")
	m.put(2, "SELECT 2", 2)
	_, ok = m.get(1, "SELECT 1")
	require.False(t, ok, "a newer version drops what was kept")

	// Bounded by entries: past the bound it starts over.
	for i := range memoEntries + 1 {
		m.put(3, fmt.Sprint(i), i)
	}
	require.LessOrEqual(t, len(m.m), memoEntries)
	_, ok = m.get(3, fmt.Sprint(memoEntries))
	require.True(t, ok, "the newest is kept")

	// And by bytes: a text too long is not kept.
	long := strings.Repeat("x", memoBytes/16+1)
	m.put(3, long, 7)
	_, ok = m.get(3, long)
	require.False(t, ok)
	require.LessOrEqual(t, m.bytes, memoBytes)
}
