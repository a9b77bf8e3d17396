package engine_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/engine"
)

// Results larger than a DuckDB chunk are joined into bigger batches: every
// type must survive the join exactly.
func TestJoinedBatchesKeepEveryValue(t *testing.T) {
	dir, ref := dataset(t)
	e := openEngine(t, dir, engine.Options{BatchRows: 10000})
	q := `SELECT i, 'v' || i AS s, CASE WHEN i % 3 = 0 THEN NULL ELSE i / 7 END AS d,
	        DATE '2024-01-01' + (i % 100)::INT AS dt,
	        ['red', 'green'][1 + i % 2] AS c
	      FROM range(25000) r(i) ORDER BY i`
	want, got := ref(q), query(t, e, q)
	require.Equal(t, len(want), len(got))
	for i := range want {
		if !slices.Equal(want[i], got[i]) {
			t.Fatalf("row %d: want %q, got %q", i, want[i], got[i])
		}
	}
}

// An error DuckDB meets after some chunks of a batch were fetched must not
// be lost in the join: the stream ends with it, never as a complete result.
func TestErrorAfterSomeChunksSurfaces(t *testing.T) {
	dir, _ := dataset(t)
	// One thread: DuckDB produces chunks only as they are fetched, so the
	// error comes after the first chunks of the batch being joined.
	e := openEngine(t, dir, engine.Options{BatchRows: 1 << 20, Threads: 1})
	rows, err := e.Query(context.Background(), "SELECT CASE WHEN i < 500000 THEN i ELSE error('boom at ' || i) END FROM range(2000000) r(i)")
	require.NoError(t, err)
	defer rows.Release()
	for rows.Next() {
	}
	require.Error(t, rows.Err())
	require.Contains(t, rows.Err().Error(), "boom")
}
