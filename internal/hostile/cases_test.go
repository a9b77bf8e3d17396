package hostile_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/internal/hostile"
)

// Every class has cases, refused ones among them, under unique names, and
// no statement shows a marker itself (its echo in an error would pass for
// a leak).
func TestCases(t *testing.T) {
	p := hostile.New(t)
	cwd, err := os.Getwd()
	require.NoError(t, err)
	cases := p.Cases(cwd)
	byClass := map[string]map[hostile.Want]int{}
	names := map[string]bool{}
	for _, c := range cases {
		require.Contains(t, hostile.Classes, c.Class)
		require.False(t, names[c.Class+"/"+c.Name], "%s/%s twice", c.Class, c.Name)
		names[c.Class+"/"+c.Name] = true
		require.False(t, p.Mentions(c.SQL), c.SQL)
		if byClass[c.Class] == nil {
			byClass[c.Class] = map[hostile.Want]int{}
		}
		byClass[c.Class][c.Want]++
	}
	for _, class := range hostile.Classes {
		w := byClass[class]
		require.NotZero(t, w[hostile.Refused]+w[hostile.Invalid], class)
		t.Logf("%-10s %4d cases: %d refused, %d invalid, %d either, %d any", class,
			w[hostile.Refused]+w[hostile.Invalid]+w[hostile.RefusedOrInvalid]+w[hostile.Any],
			w[hostile.Refused], w[hostile.Invalid], w[hostile.RefusedOrInvalid], w[hostile.Any])
	}
	t.Logf("%d cases", len(cases))
	require.Len(t, hostile.Sample(cases, 3), 3*len(hostile.Classes))
}
