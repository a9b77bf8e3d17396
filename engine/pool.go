package engine

import (
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// poolAllocator recycles the buffers of joined result batches: a stream of
// batches of similar sizes would otherwise allocate (and collect) its whole
// size in garbage. Buffers are kept per power-of-two size class and zeroed
// on reuse, as Arrow expects.
type poolAllocator struct {
	classes [48]sync.Pool
}

var _ memory.Allocator = (*poolAllocator)(nil)

const minPooled = 4096

func class(n int) int { return bits.Len(uint(n - 1)) }

func (p *poolAllocator) Allocate(n int) []byte {
	if n < minPooled {
		return make([]byte, n)
	}
	c := class(n)
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		buf := (*b)[:n]
		clear(buf)
		return buf
	}
	return make([]byte, n, 1<<c)
}

func (p *poolAllocator) Reallocate(n int, b []byte) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := p.Allocate(n)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) {
	c := cap(b)
	if c < minPooled || c&(c-1) != 0 {
		return
	}
	b = b[:0]
	p.classes[class(c)].Put(&b)
}
