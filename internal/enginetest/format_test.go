package enginetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
)

func TestParse(t *testing.T) {
	f, err := Parse(strings.NewReader(`# fixture: stats
# sandbox: off
# A comment: prose, not a setting.

statement ok
SELECT 1

statement count 2
INSERT INTO t VALUES (1), (2)

statement error binder at 2:3
SELECT
  nope
----
"nope"

# between records
query ITR rowsort
params: 1, 'it''s, here', -2.5, NULL, true
SELECT ?, ?, ?
----
1	a	2.5
2	(empty)	NULL

known http: a reason
query T matches duckdb
SELECT 'x'

plan
SELECT 2
----
no catalog table pruned
`))
	require.NoError(t, err)
	require.Equal(t, "stats", f.Fixture)
	require.False(t, f.Sandbox)
	require.Len(t, f.Records, 6)

	r := f.Records
	require.Equal(t, Record{Line: 5, Type: Statement, SQL: "SELECT 1", OK: true, Count: -1}, r[0])
	require.Equal(t, int64(2), r[1].Count)
	require.Equal(t, Record{Line: 11, Type: Statement, SQL: "SELECT\n  nope", Count: -1, Err: fault.Binder, ErrLine: 2, ErrCol: 3, ErrSubstring: `"nope"`}, r[2])
	require.Equal(t, 18, r[3].Line)
	require.Equal(t, "SELECT ?, ?, ?", r[3].SQL)
	require.Equal(t, []any{int64(1), "it's, here", -2.5, nil, true}, r[3].Params)
	require.True(t, r[3].RowSort)
	require.Equal(t, [][]string{{"1", "a", "2.5"}, {"2", "(empty)", "NULL"}}, r[3].Rows)
	require.Equal(t, 26, r[4].Line, "the record's line is its header's, after known lines")
	require.Equal(t, map[string]string{"http": "a reason"}, r[4].Known)
	require.True(t, r[4].Matches)
	require.Equal(t, Record{Line: 29, Type: Plan, SQL: "SELECT 2", Count: -1, Rows: [][]string{{"no catalog table pruned"}}}, r[5])
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ text, err string }{
		{"statement ok\nSELECT 1\n", "no '# fixture: NAME' header"},
		{"# fixture: x\n# sandbx: on\n", `unknown setting "sandbx"`},
		{"# fixture: x\n# sandbox: maybe\n", "sandbox: on or off"},
		{"# fixture: x\n\nstatement error nosuchkind\nSELECT 1\n", `unknown kind "nosuchkind"`},
		{"# fixture: x\n\nstatement error syntax at 1\nSELECT 1\n", "want LINE:COLUMN"},
		{"# fixture: x\n\nstatement fine\nSELECT 1\n", `statement "fine"`},
		{"# fixture: x\n\nstatement ok\n", "no SQL"},
		{"# fixture: x\n\nquery IZ\nSELECT 1, 2\n----\n1\t2\n", `type letter 'Z'`},
		{"# fixture: x\n\nquery II\nSELECT 1, 2\n----\n1\n", "has 1 values, the types say 2"},
		{"# fixture: x\n\nquery I matches duckdb\nSELECT 1\n----\n1\n", "either rows after ---- or matches duckdb"},
		{"# fixture: x\n\nquery I\nSELECT 1\n", "either rows after ---- or matches duckdb"},
		{"# fixture: x\n\nquery I sorted\nSELECT 1\n----\n1\n", `query option "sorted"`},
		{"# fixture: x\n\nplan\nSELECT 1\n", "plan takes no arguments"},
		{"# fixture: x\n\nselect 1\n", `unknown record "select"`},
		{"# fixture: x\n\nknown grpc: no\nquery I\nSELECT 1\n----\n1\n", "known FRONTEND: REASON"},
		{"# fixture: x\n\nquery I\nparams: 'open\nSELECT ?\n----\n1\n", "unterminated string"},
		{"# fixture: x\n\nquery I\nparams: 1,\nSELECT ?\n----\n1\n", "a value must follow the last comma"},
		{"# fixture: x\n\nquery I\nparams: 1 2\nSELECT ?\n----\n1\n", `"1 2" is not a number`},
		{"# fixture: x\n\nquery I\nparams: 1\nparams: 2\nSELECT ?\n----\n1\n", "one params: line per record"},
	} {
		_, err := Parse(strings.NewReader(c.text))
		require.ErrorContains(t, err, c.err, c.text)
	}
}

func TestCompare(t *testing.T) {
	r := Record{Types: "TR"}
	require.NoError(t, compare(r, [][]string{{"a", "0.1"}}, [][]string{{"a", "0.10000000000000002"}}))
	require.NoError(t, compare(r, [][]string{{"a", "0.0"}}, [][]string{{"a", "1e-15"}}))
	require.Error(t, compare(r, [][]string{{"a", "0.1"}}, [][]string{{"a", "0.1001"}}))
	require.Error(t, compare(r, [][]string{{"a", "NULL"}}, [][]string{{"a", "0.0"}}))
	require.Error(t, compare(Record{Types: "TI"}, [][]string{{"a", "1"}}, [][]string{{"a", "1.0"}}), "only R compares numbers")
	require.Error(t, compare(r, [][]string{{"a", "1"}, {"b", "2"}}, [][]string{{"b", "2"}, {"a", "1"}}))
	require.NoError(t, compare(Record{Types: "TR", RowSort: true}, [][]string{{"a", "1"}, {"b", "2"}}, [][]string{{"b", "2"}, {"a", "1"}}))
	require.Error(t, compare(r, [][]string{{"a", "1"}}, nil))
	require.Equal(t, [][]string{{"(empty)", `x\ny\tz`}}, escape([][]string{{"", "x\ny\tz"}}))
}

// A record that asks for what qry does not answer fails: the runner can
// fail each way a record can be wrong.
func TestCheckFails(t *testing.T) {
	set, _ := fixture.Lookup("stats")
	dir := set.Make(t)
	eng := openEngine(t, set, dir, t.TempDir(), t.TempDir(), true, false)
	st := &file{File: &File{}, ref: fixture.Reference(t, set.Views(dir)...),
		want: map[int][][]string{}, seen: map[int]*result{}, errs: map[int]*fault.Error{}}
	fe := inProcess{eng}
	line := 0
	check := func(text string) error {
		t.Helper()
		f, err := Parse(strings.NewReader("# fixture: stats\n\n" + text))
		require.NoError(t, err)
		require.Len(t, f.Records, 1)
		line++
		r := f.Records[0]
		r.Line = line
		return st.check(context.Background(), fe, []string{dir}, r)
	}
	require.NoError(t, check("query I\nSELECT count(*) FROM parts\n----\n100\n"))
	for _, c := range []struct{ text, err string }{
		{"query I\nSELECT count(*) FROM parts\n----\n101\n", "got:\n100\nwant:\n101"},
		{"query T\nSELECT count(*) FROM parts\n----\n100\n", "types I"},
		{"query I\nSELECT count(*) FROM parts WHERE id < 0\n----\n0\n", ""},
		{"query I matches duckdb\nSELECT id FROM parts WHERE id < 0\n", "the reference answers no row"},
		{"query I matches duckdb\nSELECT id FROM parts WHERE id < 3 ORDER BY id DESC\n", ""},
		{"query I\nSELECT nope FROM parts\n----\n1\n", "failed: binder"},
		{"statement ok\nSELECT nope FROM parts\n", "failed: binder"},
		{"statement error binder\nSELECT id FROM parts\n", "succeeded; want a failure of kind binder"},
		{"statement error catalog\nSELECT nope FROM parts\n", "failed with kind binder, want catalog"},
		{"statement error binder\nSELECT nope FROM parts\n----\nno such text\n", `does not hold "no such text"`},
		{"statement error binder at 1:9\nSELECT nope FROM parts\n", "the error is at 1:8, want 1:9"},
		{"statement count 1\nSELECT 1\n", "statement count is for an INSERT"},
		{"plan\nSELECT count(*) FROM parts WHERE id >= 60\n----\nparts: 4 files, 3 read, 1 pruned; predicate: id >= 60\n", "parts: 4 files, 2 read, 2 pruned; predicate: id >= 60"},
		{"plan\nSELECT count(*) FROM parts\n----\nparts: 4 files, 4 read, 0 pruned\n", "answered from file statistics"},
		{"query T\nSELECT " + fixture.Quote(dir) + " AS " + `"` + dir + `"` + "\n----\n" + dir + "\n", "names the path"},
	} {
		err := check(c.text)
		if c.err == "" {
			require.NoError(t, err, c.text)
			continue
		}
		require.ErrorContains(t, err, c.err, c.text)
	}
	// Through a second front end, an answer must be the first's, value and
	// type.
	r := Record{Line: 1000, Types: "I"}
	i64 := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	i32 := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
	require.NoError(t, st.same(r, &result{schema: i64, rows: [][]string{{"1"}}}))
	require.NoError(t, st.same(r, &result{schema: i64, rows: [][]string{{"1"}}}))
	require.ErrorContains(t, st.same(r, &result{schema: i64, rows: [][]string{{"1.0"}}}), "the first front end's answer differs")
	require.ErrorContains(t, st.same(r, &result{schema: i32, rows: [][]string{{"1"}}}), "schema")
}

func TestVerdict(t *testing.T) {
	r := Record{SQL: "SELECT 1", Known: map[string]string{"http": "a bug"}}
	wrong := errors.New("wrong")
	skip, fail := verdict("inprocess", r, nil)
	require.NoError(t, fail)
	require.Empty(t, skip)
	_, fail = verdict("inprocess", r, wrong)
	require.ErrorIs(t, fail, wrong)
	skip, fail = verdict("http", r, wrong)
	require.NoError(t, fail)
	require.Contains(t, skip, "a bug")
	_, fail = verdict("http", r, nil)
	require.ErrorContains(t, fail, "remove the known line")
}
