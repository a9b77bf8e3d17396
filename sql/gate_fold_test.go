package sql_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/sql"
)

// A CTE hides a name only as DuckDB binds names: ASCII letters in any
// case, other characters as they are. A CTE spelled with "ſ" (which
// Unicode folds to "s") must not pass for the path DuckDB reads.
func TestCheckSourcesFoldsLikeDuckDB(t *testing.T) {
	p := parser(t)
	isTable := func(string) bool { return false }
	for _, tc := range []struct {
		sql string
		ok  bool
	}{
		{`WITH "/d/secret.csv" AS (SELECT 1) SELECT * FROM "/d/secret.csv"`, true},
		{`WITH "/D/SECRET.CSV" AS (SELECT 1) SELECT * FROM "/d/secret.csv"`, true},
		{`WITH "/d/ſecret.cſv" AS (SELECT 1) SELECT * FROM "/d/secret.csv"`, false},
		{"WITH \"/d/\u212aey.csv\" AS (SELECT 1) SELECT * FROM \"/d/key.csv\"", false},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			st, err := p.Parse(context.Background(), tc.sql)
			require.NoError(t, err)
			err = sql.CheckSources(st, isTable)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, sql.ErrForbidden)
			}
		})
	}
}
