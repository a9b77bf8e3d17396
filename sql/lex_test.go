package sql_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/sql"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in    string
		stmts []string
		rest  string
	}{
		{"SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}, ""},
		{"SELECT $$a;b$$;", []string{"SELECT $$a;b$$"}, ""},
		{"SELECT $tag$a;$b$tag$; x", []string{"SELECT $tag$a;$b$tag$"}, " x"},
		{`SELECT E'it\'s; x';`, []string{`SELECT E'it\'s; x'`}, ""},
		{"SELECT 'it''s; x';", []string{"SELECT 'it''s; x'"}, ""},
		{`SELECT "a;b" FROM t;`, []string{`SELECT "a;b" FROM t`}, ""},
		{"SELECT 1 -- a; comment\n;", []string{"SELECT 1 -- a; comment"}, ""},
		{"SELECT 1 -- a comment\r; SELECT 2;", []string{"SELECT 1 -- a comment", "SELECT 2"}, ""},
		{"/* a; /* nested; */ still; */ SELECT 1;", []string{"/* a; /* nested; */ still; */ SELECT 1"}, ""},
		{"-- only a comment;\n;;", nil, ""},
		{"SELECT 'unterminated; x", nil, "SELECT 'unterminated; x"},
		{"SELECT $1, ?;", []string{"SELECT $1, ?"}, ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			stmts, rest := sql.Split(tc.in)
			require.Equal(t, tc.stmts, stmts)
			require.Equal(t, tc.rest, rest)
		})
	}
}

func TestSplitExplain(t *testing.T) {
	for _, tc := range []struct {
		in, prefix string
		bad        bool
	}{
		{"SELECT 1", "", false},
		{"EXPLAIN SELECT 1", "EXPLAIN ", false},
		{"explain analyze SELECT 1", "explain analyze ", false},
		{"EXPLAIN /**/ ANALYZE SELECT 1", "EXPLAIN /**/ ANALYZE ", false},
		{"/* c */ EXPLAIN -- x\n ANALYZE\tSELECT 1", "/* c */ EXPLAIN -- x\n ANALYZE\t", false},
		{"EXPLAIN (FORMAT json) SELECT 1", "EXPLAIN (FORMAT json) ", false},
		{"EXPLAIN --\rANALYZE SELECT 1", "EXPLAIN --\rANALYZE ", false},
		{"EXPLAIN (SELECT 1)", "EXPLAIN ", false},
		{"EXPLAIN (FORMAT (SELECT 1)) SELECT 1", "", true},
		{"EXPLAIN (FORMAT json SELECT 1", "", true},
		{"EXPLAIN", "", true},
		{`"explain" SELECT 1`, "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			prefix, inner, err := sql.SplitExplain(tc.in)
			if tc.bad {
				require.ErrorIs(t, err, sql.ErrShape)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.prefix, prefix)
			require.Equal(t, tc.in, prefix+inner)
		})
	}
}

func TestParseInsert(t *testing.T) {
	for _, tc := range []struct {
		in     string
		target []string
		cols   []string
		by     string
		source string
		ok     bool
	}{
		{"INSERT INTO t VALUES (1)", []string{"t"}, nil, "", "VALUES (1)", true},
		{"insert into qry.main.\"My T\" (a, \"b c\") SELECT 1, 2;", []string{"qry", "main", "My T"}, []string{"a", "b c"}, "", "SELECT 1, 2", true},
		{"INSERT INTO t BY NAME SELECT 1 AS a", []string{"t"}, nil, "BY NAME", "SELECT 1 AS a", true},
		{"INSERT INTO t (SELECT 1)", []string{"t"}, nil, "", "(SELECT 1)", true},
		{"/* c */ INSERT /* d */ INTO t VALUES (?, ?) -- x", []string{"t"}, nil, "", "VALUES (?, ?)", true},
		{"INSERT OR REPLACE INTO t VALUES (1)", nil, nil, "", "", false},
		{"WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", nil, nil, "", "", false},
		{"SELECT 1", nil, nil, "", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			ins, ok := sql.ParseInsert(tc.in)
			require.Equal(t, tc.ok, ok)
			if !ok {
				return
			}
			require.Equal(t, tc.target, ins.Target)
			require.Equal(t, tc.cols, ins.ColumnNames)
			require.Equal(t, tc.by, ins.By)
			require.Equal(t, tc.source, ins.Source)
		})
	}
}

// Statements the parser does not serialize never reach the gate as
// readable: Parse tells them apart, and the engine refuses them.
func TestParseRefusals(t *testing.T) {
	p := parser(t)
	for _, tc := range []struct {
		sql  string
		want error
	}{
		{"COPY trips TO '/tmp/x.csv'", sql.ErrNotSelect},
		{"ATTACH '/tmp/x.db'", sql.ErrNotSelect},
		{"SET threads = 1", sql.ErrNotSelect},
		{"PIVOT trips ON payment USING sum(fare)", sql.ErrNotSelect},
		{"SELECT * FROM (PIVOT '/data/_private/secret.csv' ON a USING sum(b))", sql.ErrNotSelect},
		{"CREATE MACRO m() AS TABLE SELECT 1", sql.ErrNotSelect},
		{"SELECT 1; SELECT 2", sql.ErrMultipleStatements},
		{"", sql.ErrEmpty},
		{"SELECT * FRM trips", sql.ErrParse},
		{"SELECT 'unterminated", sql.ErrParse},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			_, err := p.Parse(context.Background(), tc.sql)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err := p.Parse(context.Background(), "SELECT *\nFRM trips")
	var se *sql.SyntaxError
	require.ErrorAs(t, err, &se)
	line, col := sql.LineCol("SELECT *\nFRM trips", se.Offset)
	require.Equal(t, 2, line)
	require.Positive(t, col)
}
