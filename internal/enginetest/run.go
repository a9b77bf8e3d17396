package enginetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
)

// deadline bounds one record: a hang fails the record instead of the run.
const deadline = 2 * time.Minute

// Run runs every .test file in dir through every front end, as subtests
// named <file>/<front end>/<line>.
func Run(t *testing.T, dir string) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .test files in %s (%v)", dir, err)
	}
	sets := &made{t: t, dirs: map[string]string{}, caches: map[string]string{}}
	for _, p := range paths {
		f, err := ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f.Name, func(t *testing.T) { runFile(t, f, sets) })
	}
}

// made holds the data sets made so far in a run: read-only ones are made
// once, and their statistics cache is shared.
type made struct {
	t      *testing.T // the run's: what it makes lives until the run ends
	dirs   map[string]string
	caches map[string]string
}

func (m *made) dir(t *testing.T, s fixture.Set) string {
	if d, ok := m.dirs[s.Name]; ok {
		return d
	}
	d := s.MakeIn(t, m.t.TempDir())
	m.dirs[s.Name], m.caches[s.Name] = d, m.t.TempDir()
	return d
}

// file is the state of one file's run shared by its front ends.
type file struct {
	*File
	ref  *sql.DB              // DuckDB over the reference views, if needed
	want map[int][][]string   // DuckDB's answers, by record line
	seen map[int]*result      // the first front end's answers, by record line
	errs map[int]*fault.Error // the first front end's errors, by record line
}

func runFile(t *testing.T, f *File, sets *made) {
	set, ok := fixture.Lookup(f.Fixture)
	if !ok {
		t.Fatalf("fixture %q: no such set (%s)", f.Fixture, strings.Join(fixture.SetNames(), ", "))
	}
	shared := sets.dir(t, set)
	st := &file{File: f, want: map[int][][]string{}, seen: map[int]*result{}, errs: map[int]*fault.Error{}}
	for _, r := range f.Records {
		if r.Matches && st.ref == nil {
			st.ref = fixture.Reference(t, set.Views(shared)...)
		}
	}
	for _, fe := range frontends {
		t.Run(fe.name, func(t *testing.T) {
			dir, cache := shared, sets.caches[set.Name]
			if set.Fresh {
				dir, cache = set.Make(t), t.TempDir()
			}
			sandboxDir := t.TempDir()
			front := fe.start(t, openEngine(t, set, dir, cache, sandboxDir, f.Sandbox, fe.accelerate))
			// What a client must never see in a column name: where the
			// files are, on the server and in its sandbox.
			private := []string{dir, sandboxDir}
			for _, r := range f.Records {
				t.Run(r.Name(), func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), deadline)
					defer cancel()
					skip, fail := verdict(fe.name, r, st.check(ctx, front, private, r))
					if fail != nil {
						t.Error(fail)
					} else if skip != "" {
						t.Skip(skip)
					}
				})
			}
		})
	}
}

// ParseFile reads a .test file.
func ParseFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pf, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	pf.Name = strings.TrimSuffix(filepath.Base(path), ".test")
	return pf, nil
}

// verdict is a record's outcome through a front end, from what check
// found and what is known to fail there: why it is skipped, or a failure
// to report. A known failure that passes fails: its known line must go.
func verdict(frontend string, r Record, err error) (skip string, fail error) {
	reason, known := r.Known[frontend]
	switch {
	case known && err == nil:
		return "", fmt.Errorf("%s\nknown to fail through %s (%s), it passes: remove the known line", r.SQL, frontend, reason)
	case known:
		return fmt.Sprintf("known to fail through %s: %s\n%s\n%v", frontend, reason, r.SQL, err), nil
	case err != nil:
		return "", fmt.Errorf("%s\n%w", r.SQL, err)
	}
	return "", nil
}

// openEngine opens a catalog over dir and an engine over it, both closed
// at the end of the test.
func openEngine(t *testing.T, set fixture.Set, dir, cache, sandboxDir string, sandbox, accelerate bool) *engine.Engine {
	t.Helper()
	cat, err := catalog.Open(context.Background(), set.Catalog(t, dir, cache))
	if err != nil {
		t.Fatal(err)
	}
	// Each file is a part of its own: a result the planner can split
	// reaches a Flight client through one endpoint per file, each read
	// on its own (see server/flightsql's partition.go).
	opts := engine.Options{Sandbox: sandbox, ReadOnly: true, SandboxDir: sandboxDir, MaxConns: 2, PartitionBytes: 1}
	if accelerate {
		opts.Accelerate = map[string]string{"*": engine.AccelMemory}
	}
	eng, err := engine.Open(context.Background(), cat, opts)
	if err != nil {
		cat.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		eng.Close()
		cat.Close()
	})
	if accelerate {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		if err := eng.WaitAccelerated(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return eng
}

// check runs a record through a front end: nil, or what went wrong.
// private are paths no column name may hold.
func (f *file) check(ctx context.Context, fe frontend, private []string, r Record) error {
	switch r.Type {
	case Statement:
		return f.checkStatement(ctx, fe, r)
	case Plan:
		res, err := fe.query(ctx, "EXPLAIN "+r.SQL, nil)
		if err != nil {
			return fmt.Errorf("EXPLAIN failed: %s: %w", fault.KindOf(err), err)
		}
		if len(res.rows) == 0 || len(res.rows[0]) != 2 || res.rows[0][0] != "qry plan" {
			return fmt.Errorf("EXPLAIN has no qry plan row first: %v", res.rows)
		}
		// How the result would be read in parts is checked where a
		// record names it.
		parts := slices.ContainsFunc(r.Rows, func(l []string) bool { return strings.HasPrefix(l[0], "partitions: ") })
		var got [][]string
		for _, l := range strings.Split(strings.TrimSuffix(res.rows[0][1], "\n"), "\n") {
			if !parts && strings.HasPrefix(l, "partitions: ") {
				continue
			}
			// Whether a copy served a table is the accelerated front
			// end's own line; the plan is the same.
			if i := strings.Index(l, "; read from its memory copy"); i >= 0 {
				l = l[:i]
			}
			got = append(got, []string{l})
		}
		return compare(r, r.Rows, got)
	}
	res, err := fe.query(ctx, r.SQL, r.Params)
	if err != nil {
		return fmt.Errorf("failed: %s: %w", fault.KindOf(err), err)
	}
	want := r.Rows
	if r.Matches {
		if want, err = f.reference(r); err != nil {
			return err
		}
	}
	return errors.Join(checkTypes(r, res.schema), checkNames(res.schema, private), compare(r, want, escape(res.rows)), f.same(r, res))
}

func (f *file) checkStatement(ctx context.Context, fe frontend, r Record) error {
	var err error
	var n int64
	insert := engine.IsInsert(r.SQL)
	if insert {
		n, err = fe.update(ctx, r.SQL, r.Params)
	} else {
		_, err = fe.query(ctx, r.SQL, r.Params)
	}
	switch {
	case r.OK && err != nil:
		return fmt.Errorf("failed: %s: %w", fault.KindOf(err), err)
	case r.OK && r.Count >= 0 && !insert:
		return errors.New("statement count is for an INSERT into a writable table")
	case r.OK && r.Count >= 0 && n != r.Count:
		return fmt.Errorf("wrote %d rows, want %d", n, r.Count)
	case r.OK:
		return nil
	case err == nil:
		return fmt.Errorf("succeeded; want a failure of kind %s", r.Err)
	}
	return f.checkError(r, err)
}

// checkError compares a failure with the record's: its Kind exactly, its
// message on one line and holding the record's text, its position (the
// same through every front end).
func (f *file) checkError(r Record, err error) error {
	kind := fault.KindOf(err)
	msg := err.Error()
	line, col := fault.Position(err)
	var problems []error
	if kind != r.Err {
		return fmt.Errorf("failed with kind %s, want %s: %s", kind, r.Err, msg)
	}
	if strings.Contains(msg, "\n") {
		problems = append(problems, fmt.Errorf("the message has more than one line: %q", msg))
	}
	if r.ErrSubstring != "" && !strings.Contains(msg, r.ErrSubstring) {
		problems = append(problems, fmt.Errorf("the message %q does not hold %q", msg, r.ErrSubstring))
	}
	if r.ErrLine > 0 && (line != r.ErrLine || col != r.ErrCol) {
		problems = append(problems, fmt.Errorf("the error is at %d:%d, want %d:%d: %s", line, col, r.ErrLine, r.ErrCol, msg))
	}
	if first, ok := f.errs[r.Line]; !ok {
		f.errs[r.Line] = &fault.Error{Kind: kind, Msg: msg, Line: line, Col: col}
	} else if first.Line != line || first.Col != col {
		problems = append(problems, fmt.Errorf("the error is at %d:%d here, at %d:%d through the first front end", line, col, first.Line, first.Col))
	}
	return errors.Join(problems...)
}

// reference is DuckDB's answer to a `matches duckdb` record, computed once.
func (f *file) reference(r Record) ([][]string, error) {
	if rows, ok := f.want[r.Line]; ok {
		return rows, nil
	}
	rows, err := fixture.TryRows(f.ref, r.SQL, r.Params...)
	if err != nil {
		return nil, fmt.Errorf("the reference DuckDB failed: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("the reference answers no row: a query that matches duckdb must answer some")
	}
	rows = escape(rows)
	f.want[r.Line] = rows
	return rows, nil
}

// same checks that an answer is the first front end's, as compare sees
// it (the same values, in the same order unless rowsort; floats within
// its tolerance: parallel sums may differ in their last bits), with the
// same Arrow schema (names, types, nullability, metadata).
func (f *file) same(r Record, res *result) error {
	first, ok := f.seen[r.Line]
	if !ok {
		f.seen[r.Line] = res
		return nil
	}
	if !first.schema.Equal(res.schema) {
		return fmt.Errorf("schema %s differs from the first front end's %s", res.schema, first.schema)
	}
	if err := compare(r, escape(first.rows), escape(res.rows)); err != nil {
		return fmt.Errorf("the first front end's answer differs: %w", err)
	}
	return nil
}

// letter is the type letter of an Arrow type.
func letter(dt arrow.DataType) byte {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return 'I'
	case arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		if dt.(arrow.DecimalType).GetScale() == 0 {
			return 'I' // HUGEINT travels as DECIMAL(38, 0)
		}
		return 'R'
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return 'R'
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return 'T'
	case arrow.BOOL:
		return 'B'
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP, arrow.TIME32, arrow.TIME64:
		return 'D'
	}
	return 'X'
}

func checkTypes(r Record, schema *arrow.Schema) error {
	got := make([]byte, schema.NumFields())
	for i, fd := range schema.Fields() {
		got[i] = letter(fd.Type)
	}
	if string(got) != r.Types {
		return fmt.Errorf("types %s (%s), want %s", got, schema, r.Types)
	}
	return nil
}

// checkNames checks that no column is named after a private path (as it
// would be after qry's rewrite of a table reference into a scan of files).
func checkNames(schema *arrow.Schema, private []string) error {
	for _, fd := range schema.Fields() {
		for _, p := range private {
			if strings.Contains(fd.Name, p) {
				return fmt.Errorf("column %q names the path %s", fd.Name, p)
			}
		}
	}
	return nil
}

// escape writes values as the files do: an empty string is (empty), new
// lines and tabs are \n and \t.
func escape(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, row := range rows {
		out[i] = make([]string, len(row))
		for j, v := range row {
			if v == "" {
				v = "(empty)"
			}
			out[i][j] = strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(v)
		}
	}
	return out
}

// compare checks rows against the wanted ones: sorted first with rowsort,
// R columns within a relative 1e-9 (or 1e-12 absolute).
func compare(r Record, want, got [][]string) error {
	if r.RowSort {
		want, got = sorted(want), sorted(got)
	}
	ok := len(want) == len(got)
	for i := 0; ok && i < len(want); i++ {
		ok = len(want[i]) == len(got[i])
		for j := 0; ok && j < len(want[i]); j++ {
			ok = want[i][j] == got[i][j] || j < len(r.Types) && r.Types[j] == 'R' && closeEnough(want[i][j], got[i][j])
		}
	}
	if !ok {
		return fmt.Errorf("got:\n%swant:\n%s", text(got), text(want))
	}
	return nil
}

func sorted(rows [][]string) [][]string {
	out := slices.Clone(rows)
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(strings.Join(a, "\t"), strings.Join(b, "\t")) })
	return out
}

func closeEnough(a, b string) bool {
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	switch {
	case err1 != nil || err2 != nil:
		return false
	case math.IsNaN(x) || math.IsNaN(y):
		return math.IsNaN(x) && math.IsNaN(y)
	case math.IsInf(x, 0) || math.IsInf(y, 0):
		return x == y
	}
	d := math.Abs(x - y)
	return d <= 1e-12 || d <= 1e-9*math.Max(math.Abs(x), math.Abs(y))
}

func text(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintln(&b, strings.Join(r, "\t"))
	}
	if len(rows) == 0 {
		b.WriteString("(no rows)\n")
	}
	return b.String()
}
