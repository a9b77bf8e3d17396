//go:build duckdb_arrow

package duck

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A context that ends before the statement starts (while it was planned)
// still stops it: DuckDB clears a connection's interrupt when a query
// begins, so the interrupt sent then is lost, and Start must see the end
// itself. Without that, this query ran on for hours.
func TestStartAfterContextEnded(t *testing.T) {
	db, err := Open(map[string]string{"threads": "2"})
	require.NoError(t, err)
	defer db.Close()
	c, err := db.Connect()
	require.NoError(t, err)
	defer c.Close()
	stmt, err := c.Prepare("SELECT count(*) FROM range(1000000000000) r(i) WHERE i % 7 = 3")
	require.NoError(t, err)
	defer stmt.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stop := c.InterruptOnDone(ctx)
	cancel()
	stop() // the interrupt has been sent, before the query began
	done := make(chan error, 1)
	go func() {
		res, err := stmt.Start(ctx, nil)
		if res != nil {
			res.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.True(t, errors.Is(err, ErrCanceled) || errors.Is(err, context.Canceled), "%v", err)
	case <-time.After(20 * time.Second):
		c.Interrupt()
		t.Fatal("the statement ran on after its context ended")
	}
}
