//go:build duckdb_arrow

package engine

import "sync"

// memo keeps values computed from a statement's text (its parse tree, its
// description) for statements sent again: dashboards and Flight SQL
// clients, which describe a statement before they run it, send the same
// text many times. It is bounded by entries and by the bytes of the texts
// it keys; past either it starts over. Entries are tagged with the catalog
// version they were computed at (0 for values that do not depend on the
// catalog) and a newer version drops them.
type memo[V any] struct {
	mu      sync.Mutex
	version uint64
	m       map[string]V
	bytes   int
}

const (
	memoEntries = 1024
	memoBytes   = 16 << 20
)

// get returns the value kept for text at version.
func (m *memo[V]) get(version uint64, text string) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var zero V
	if m.version != version {
		return zero, false
	}
	v, ok := m.m[text]
	return v, ok
}

// put keeps v for text at version.
func (m *memo[V]) put(version uint64, text string, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.version != version || m.m == nil || len(m.m) >= memoEntries || m.bytes+len(text) > memoBytes {
		m.m, m.bytes, m.version = map[string]V{}, 0, version
	}
	if len(text) > memoBytes/16 {
		return
	}
	if _, ok := m.m[text]; !ok {
		m.bytes += len(text)
	}
	m.m[text] = v
}
