package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPoolAllocatorReusesZeroedBuffers(t *testing.T) {
	p := &poolAllocator{}
	for _, n := range []int{0, 100, minPooled, 5000, 1 << 20, 1<<20 + 1} {
		b := p.Allocate(n)
		require.Len(t, b, n)
		for i := range b {
			b[i] = 0xff
		}
		p.Free(b)
		b2 := p.Allocate(n)
		require.Len(t, b2, n)
		for i, v := range b2 {
			if v != 0 {
				t.Fatalf("size %d: byte %d not zeroed after reuse", n, i)
			}
		}
		b3 := p.Reallocate(n+10, b2)
		require.Len(t, b3, n+10)
	}
}
