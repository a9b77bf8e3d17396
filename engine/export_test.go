//go:build duckdb_arrow

package engine

// PauseAcceleration holds e's copies as they are until resume is called
// (a pass under way finishes first).
func PauseAcceleration(e *Engine) (resume func()) {
	if e.accel == nil {
		return func() {}
	}
	e.accel.paused.Lock()
	return e.accel.paused.Unlock
}
