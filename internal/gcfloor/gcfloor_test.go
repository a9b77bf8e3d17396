package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// collect runs a collection and waits for the tuner's adjustment after
// it (the finalizer goroutine makes it; the wait is a bound, not a
// condition of the test).
func collect(t *testing.T, set chan int) int {
	t.Helper()
	runtime.GC()
	select {
	case pct := <-set:
		return pct
	case <-time.After(time.Minute):
		t.Fatal("no adjustment after a collection")
		return 0
	}
}

func started(t *testing.T, floor uint64) chan int {
	t.Helper()
	set := make(chan int, 64)
	stop := start(floor, func(p int) { set <- p })
	t.Cleanup(stop)
	<-set // the adjustment Start makes at once
	return set
}

// A small live heap: the goal is the floor.
func TestGoalIsTheFloor(t *testing.T) {
	const floor = 64 << 20
	set := started(t, floor)
	pct := collect(t, set)
	live := read("/gc/heap/live:bytes")
	require.Less(t, live, uint64(floor/4), "the test's own heap should be small")
	require.Greater(t, pct, 100)
	goal := read("/gc/heap/goal:bytes")
	require.InDelta(t, float64(floor), float64(goal), float64(floor)/10, "goal %d, live %d, GOGC %d", goal, live, pct)
}

// A live heap past half the floor: GOGC as it was, twice the live heap.
func TestLargeHeapKeepsGOGC(t *testing.T) {
	const floor = 16 << 20
	keep := make([]byte, 24<<20)
	for i := range keep {
		keep[i] = byte(i)
	}
	set := started(t, floor)
	pct := collect(t, set)
	require.Equal(t, 100, pct)
	live := read("/gc/heap/live:bytes")
	goal := read("/gc/heap/goal:bytes")
	require.GreaterOrEqual(t, live, uint64(len(keep)))
	require.InDelta(t, float64(2*live), float64(goal), float64(live)/10)
	runtime.KeepAlive(keep)
}

// After stop, GOGC is what it was: the goal follows the live heap again.
func TestStopRestores(t *testing.T) {
	set := make(chan int, 64)
	stop := start(64<<20, func(p int) { set <- p })
	<-set
	stop()
	require.Equal(t, 100, debug.SetGCPercent(100))
	runtime.GC()
	live := read("/gc/heap/live:bytes")
	goal := read("/gc/heap/goal:bytes")
	require.InDelta(t, float64(2*live), float64(goal), float64(live)/10+float64(4<<20))
}

// GOGC in the environment is the user's choice: Start leaves it alone.
func TestGOGCFromEnvironmentStands(t *testing.T) {
	t.Setenv("GOGC", "100")
	called := false
	stop := start(64<<20, func(int) { called = true })
	runtime.GC()
	stop()
	require.False(t, called)
	require.Equal(t, 100, debug.SetGCPercent(100))
}
