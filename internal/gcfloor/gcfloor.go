// Package gcfloor keeps the garbage collector's heap goal from falling below
// a floor.
//
// Go collects when the heap has grown by GOGC percent of what the last
// collection left live: twice the live heap at the default of 100. qry's
// live heap is small (DuckDB's memory is not Go's), and every result it
// sends allocates its Arrow and gRPC buffers anew, so with 7 MB live the
// collector ran twice for every three results of 890 KB sent, and took a
// third of the time to send one (benchmarks/README.md). With a floor,
// the heap may grow to the floor before a collection; once the live heap is
// half the floor or more, GOGC applies unchanged. The memory this costs is
// bounded by the floor.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Floor is the heap goal qry keeps at least: 64 MB.
const Floor = 64 << 20

// heapMinimum is Go's smallest heap goal at GOGC=100; it scales with GOGC.
const heapMinimum = 4 << 20

// tuner sets GOGC after each collection from the live heap it left.
type tuner struct {
	floor   uint64
	percent int // GOGC as found at Start (the one to keep for a large heap)
	stopped atomic.Bool
	mu      sync.Mutex
	onSet   func(percent int) // tests: called after each adjustment
}

// sentinel is garbage whose finalizer runs once per collection.
type sentinel struct{ t *tuner }

// Start keeps the heap goal at least floor bytes until stop is called. It
// does nothing (and stop does nothing) when GOGC is set in the
// environment: the user's setting stands.
func Start(floor uint64) (stop func()) {
	return start(floor, nil)
}

func start(floor uint64, onSet func(int)) (stop func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	t := &tuner{floor: floor, percent: int(read("/gc/gogc:percent")), onSet: onSet}
	if t.percent <= 0 { // collection is off: nothing to tune
		return func() {}
	}
	t.adjust()
	t.arm()
	return func() {
		t.stopped.Store(true)
		t.mu.Lock()
		defer t.mu.Unlock()
		debug.SetGCPercent(t.percent)
	}
}

// arm leaves garbage behind whose finalizer adjusts GOGC after the next
// collection, and arms again.
func (t *tuner) arm() {
	s := &sentinel{t: t}
	runtime.SetFinalizer(s, func(s *sentinel) {
		if s.t.stopped.Load() {
			return
		}
		s.t.adjust()
		s.t.arm()
	})
}

// adjust sets GOGC so that the next goal is the floor, or GOGC's own goal
// when that is larger.
func (t *tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	// Go's goal is live + (live + stacks + globals) * GOGC / 100, and at
	// least its minimum heap, 4 MB * GOGC / 100 (see the GC guide).
	pct := t.percent
	live, roots := gcState()
	if scanned := live + roots; live > 0 && live+scanned*uint64(pct)/100 < t.floor {
		pct = int(min((t.floor-live)*100/scanned, t.floor*100/heapMinimum))
	}
	debug.SetGCPercent(pct)
	if t.onSet != nil {
		t.onSet(pct)
	}
}

// gcState is the heap the last collection left live and the stacks and
// globals it scanned, in bytes (0 before the first collection).
func gcState() (live, roots uint64) {
	return read("/gc/heap/live:bytes"), read("/gc/scan/stack:bytes") + read("/gc/scan/globals:bytes")
}

// read is one of the runtime's metrics (0 if this Go has none by that name).
func read(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
