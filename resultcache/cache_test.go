package resultcache

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func batch(t *testing.T, mem memory.Allocator, n int) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for i := range n {
		b.Append(int64(i))
	}
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(n))
}

// Every path releases what it was given: the checked allocator ends at zero.
func TestLRUVersionsAndRelease(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := New[string](1600) // entries of at most 100 bytes
	put := func(key string, version uint64, bytes int64) {
		k := c.Collect(key, version)
		b := batch(t, mem, 1)
		k.Add(b, bytes)
		b.Release()
		k.Finish(true, b.Schema(), key)
	}
	put("a", 1, 60)
	put("b", 1, 60)
	got := c.Get("a", 1)
	require.NotNil(t, got)
	require.Equal(t, "a", got.Meta)
	release(got.Batches)
	require.Equal(t, Stats{Entries: 2, Bytes: 120, Hits: 1}, c.Stats())

	// Too large for one entry: not kept.
	put("big", 1, 101)
	require.Nil(t, c.Get("big", 1))

	// An incomplete result is not kept.
	k := c.Collect("cut", 1)
	b := batch(t, mem, 1)
	k.Add(b, 10)
	b.Release()
	k.Finish(false, b.Schema(), "cut")
	require.Nil(t, c.Get("cut", 1))

	// Past the whole budget, the least recently used go first: "a" was
	// read after "b", so "b" goes before it.
	for i := range 25 {
		put(string(rune('c'+i)), 1, 60)
	}
	require.Equal(t, int64(1560), c.Stats().Bytes) // 1620 less "b"
	require.Nil(t, c.Get("b", 1))
	got = c.Get("a", 1)
	require.NotNil(t, got)
	release(got.Batches)

	// A newer catalog version drops the older entries; a result of an older
	// version than one seen is not stored.
	put("new", 2, 10)
	require.Equal(t, 1, c.Stats().Entries)
	put("old", 1, 10)
	require.Nil(t, c.Get("old", 2))
	c.Clear()
	require.Zero(t, c.Stats().Entries)

	var none *Cache[string]
	require.Equal(t, Stats{}, none.Stats())
	none.Clear()
}
