package engine_test

import (
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
