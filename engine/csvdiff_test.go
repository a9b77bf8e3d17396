package engine_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// The text differential: a CSV file read through qry (a table of its own)
// against DuckDB's read_csv with its auto-detection on the same file. When
// DuckDB reads the file, qry must return the same columns and the same
// rows, value for value, in the same order; when DuckDB refuses it, qry
// must leave it out of the table and say why with DuckDB's reason.

// textOutcome is what the differential found for one file.
type textOutcome int

const (
	textAgreed     textOutcome = iota // same rows, same values
	textBothRefuse                    // DuckDB refuses, qry leaves the file out
	textQryRefused                    // DuckDB reads it, qry does not
	textDiffers                       // both read it, differently
	textQryReads                      // DuckDB refuses, qry reads it anyway (an extra, e.g. latin-1)
)

// checkTextFile runs the differential over one file. ref reads it as
// DuckDB would (read_csv(path) by default); detail says what differs.
func checkTextFile(ctx context.Context, t *testing.T, ref *sql.DB, path, format, refExpr string) (textOutcome, string) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	if refExpr == "" {
		// A table that is one file has no partitions above it: DuckDB's
		// hive detection from the path is not the catalog's.
		refExpr = "read_csv(" + quote(abs) + ", hive_partitioning=false)"
	}
	wantCols, refErr := describe(ref, refExpr)
	// Nested values compare as DuckDB's own text of them (the two client
	// paths render them differently); everything else as it is.
	sel := "*"
	if refErr == nil {
		var parts []string
		for _, c := range wantCols {
			q := engine.QuoteIdent(c[0])
			if strings.ContainsAny(c[1], "[(") && !strings.HasPrefix(c[1], "DECIMAL") {
				q += "::VARCHAR"
			}
			parts = append(parts, q)
		}
		if !strings.ContainsRune(fmt.Sprint(wantCols), 0) {
			sel = strings.Join(parts, ", ")
		}
	}
	var want [][]string
	if refErr == nil {
		want, refErr = fixture.TryRows(ref, "SELECT "+sel+" FROM "+refExpr)
	}

	dir, err := os.MkdirTemp("", "qry-text-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := &catalog.Config{Tables: []catalog.TableConfig{{Name: "t", Path: abs, Format: format}}}
	cat, err := catalog.Open(ctx, catalog.Options{Config: cfg, CacheDir: dir, Threads: 1})
	if err != nil {
		return textQryRefused, "catalog: " + err.Error()
	}
	defer cat.Close()
	snap := cat.Snapshot()
	tb, ok := snap.Table("t")
	var problem string
	for _, p := range append(snap.Problems, tableProblems(tb)...) {
		problem = p.Error()
	}
	if !ok || len(tb.Files) == 0 {
		if refErr != nil {
			return textBothRefuse, problem
		}
		return textQryRefused, "left out: " + problem
	}
	e, err := engine.Open(ctx, cat, engine.Options{Threads: 2, MaxConns: 1, Sandbox: true, SandboxDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got, _, qryErr := qryRows(ctx, e, "SELECT "+sel+" FROM t")
	var gotCols [][2]string
	if qryErr == nil {
		for _, c := range tb.Columns {
			gotCols = append(gotCols, [2]string{c.Name, c.Type})
		}
	}
	switch {
	case refErr != nil && qryErr != nil:
		return textBothRefuse, qryErr.Error()
	case refErr != nil:
		return textQryReads, "DuckDB: " + refErr.Error()
	case qryErr != nil:
		return textQryRefused, "query: " + qryErr.Error()
	case !reflect.DeepEqual(wantCols, gotCols):
		return textDiffers, fmt.Sprintf("columns: DuckDB %v, qry %v", wantCols, gotCols)
	case len(want) != len(got):
		return textDiffers, fmt.Sprintf("%d rows from DuckDB, %d from qry", len(want), len(got))
	}
	for i := range want {
		if !reflect.DeepEqual(want[i], got[i]) {
			return textDiffers, fmt.Sprintf("row %d: DuckDB %q, qry %q", i+1, want[i], got[i])
		}
	}
	// Answers that statistics give or prune: the same as DuckDB's too.
	fc, err := checkQueries(ctx, e, ref, "t", refExpr)
	if err != nil {
		return textDiffers, "statistics differential: " + err.Error()
	}
	if len(fc.diffs) > 0 {
		return textDiffers, "with statistics: " + strings.Join(fc.diffs, "; ")
	}
	return textAgreed, ""
}

func tableProblems(t *catalog.Table) []catalog.Problem {
	if t == nil {
		return nil
	}
	return t.Problems
}

// TestCSVCorpus runs the text differential over every CSV/TSV file (also
// compressed) under the directory $QRY_CSV_CORPUS names, and logs a
// summary; it fails where qry differs from DuckDB or refuses a file DuckDB
// reads. Skipped when the variable is unset; testdata/csv-corpus/run.sh
// runs it.
func TestCSVCorpus(t *testing.T) {
	root := os.Getenv("QRY_CSV_CORPUS")
	if root == "" {
		t.Skip("QRY_CSV_CORPUS names a directory of CSV files to compare with DuckDB")
	}
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && isTextName(p) {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	counts := map[textOutcome]int{}
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		ref, err := sql.Open("duckdb", "?threads=2")
		if err != nil {
			t.Fatal(err)
		}
		out, detail := checkTextFile(ctx, t, ref, p, "csv", "")
		ref.Close()
		cancel()
		counts[out]++
		switch out {
		case textQryRefused, textDiffers:
			t.Errorf("%s: %s", rel, oneLine(fmt.Errorf("%s", detail)))
		case textQryReads:
			t.Logf("qry reads, DuckDB refuses %s: %s", rel, oneLine(fmt.Errorf("%s", detail)))
		}
	}
	t.Logf("%s\n| files | DuckDB reads | identical in qry | qry refuses | qry differs | DuckDB refuses, qry leaves out | DuckDB refuses, qry reads |\n|---|---|---|---|---|---|---|\n| %d | %d | %d | %d | %d | %d | %d |",
		root, len(paths), counts[textAgreed]+counts[textQryRefused]+counts[textDiffers], counts[textAgreed], counts[textQryRefused], counts[textDiffers], counts[textBothRefuse], counts[textQryReads])
}

func isTextName(p string) bool {
	l := strings.ToLower(p)
	for _, ext := range []string{".csv", ".tsv", ".csv.gz", ".tsv.gz", ".csv.zst", ".tsv.zst"} {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}

// oddCSV is a generated text file, what qry and DuckDB should make of it,
// and DuckDB's read when not read_csv(path).
type oddCSV struct {
	content []byte
	want    textOutcome
	ref     string
}

// oddCSVFiles are text files of the kinds real corpora hold, by name.
func oddCSVFiles(t *testing.T) map[string]oddCSV {
	var long strings.Builder
	long.WriteString("a,b\n")
	for i := range 25000 {
		fmt.Fprintf(&long, "%d,%d\n", i, i*2)
	}
	rows := long.String()
	long.WriteString("x,1\n")
	latin1 := []byte("name;city\nJos\xe9;S\xe3o Paulo\nRen\xe9e;Z\xfcrich\n")
	utf16 := []byte{0xff, 0xfe}
	for _, r := range "id,name\n1,Zoë\n2,Łódź\n" {
		utf16 = append(utf16, byte(r), byte(r>>8))
	}
	utf16be := []byte{0xfe, 0xff}
	for _, r := range "id,name\n1,Zoë\n" {
		utf16be = append(utf16be, byte(r>>8), byte(r))
	}
	return map[string]oddCSV{
		"utf16be.csv": {content: utf16be, want: textBothRefuse},
		// DuckDB compares a double with a decimal literal through a
		// conversion off by an ulp here: "c > max" holds for the max.
		"float edge.csv": {content: []byte("c\n0\n0.13355280000000005\n"), want: textAgreed},
		// Values with NUL bytes: no statistics answer may carry them.
		"nul values.csv":      {content: []byte("a|b\n\x00|x\n\x00z|y\n"), want: textAgreed},
		"pipes.csv":           {content: []byte("a|b|c\n1|x|2.5\n2|y|\n"), want: textAgreed},
		"semicolons.csv":      {content: []byte("id;amount\n1;3,5\n2;4,25\n"), want: textAgreed},
		"tabs.csv":            {content: []byte("a\tb\n1\tone\n2\ttwo\n"), want: textAgreed},
		"headerless.csv":      {content: []byte("1,2,3\n4,5,6\n7,8,9\n"), want: textAgreed},
		"dmy.csv":             {content: []byte("day,v\n1-1-2016,1\n13-2-2016,2\n28-12-2016,3\n"), want: textAgreed},
		"mdy.csv":             {content: []byte("day,v\n10/08/2008,1\n12/31/2008,2\n01/02/2009,3\n"), want: textAgreed},
		"timestamps.csv":      {content: []byte("at,v\n2020/01/02 03:04:05,1\n2021/12/31 23:59:59,2\n"), want: textAgreed},
		"quoted.csv":          {content: []byte("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",2\n"), want: textAgreed},
		"escaped.csv":         {content: []byte("a,b\n\"x\\\"y\",1\n\"z\",2\n"), want: textAgreed},
		"preamble.csv":        {content: []byte("exported by a tool\nat some date\na,b\n1,2\n3,4\n"), want: textAgreed},
		"cr.csv":              {content: []byte("a,b\r1,2\r3,4\r"), want: textAgreed},
		"crlf.csv":            {content: []byte("a,b\r\n1,2\r\n3,4\r\n"), want: textAgreed},
		"short rows.csv":      {content: []byte("a,b,c\n1,2,3\n4,5\n6,7,8\n"), want: textAgreed},
		"comments.csv":        {content: []byte("# a comment\na,b\n1,2\n# another\n3,4\n"), want: textAgreed},
		"bom8.csv":            {content: []byte("\xef\xbb\xbfa,b\n1,2\n"), want: textAgreed},
		"header only.csv":     {content: []byte("a,b,c\n"), want: textAgreed},
		"nul header.csv":      {content: []byte("a|b\x00c\n1|2\n"), want: textAgreed},
		"long.csv":            {content: []byte(rows), want: textAgreed},
		"late bad row.csv":    {content: []byte(long.String()), want: textBothRefuse},
		"latin1.csv":          {content: latin1, want: textQryReads},
		"utf16.csv":           {content: utf16, want: textQryReads},
		"latin1 named.csv":    {content: latin1, want: textAgreed, ref: "read_csv(%s, encoding='latin-1')"},
		"gzipped.csv.gz":      {content: gzipped(t, "a,b\n1,2\n3,4\n"), want: textAgreed},
		"gzipped tabs.tsv.gz": {content: gzipped(t, "a\tb\n1\t2\n"), want: textAgreed},
	}
}

// TestCSVOddFiles runs the text differential over generated files of the
// kinds real corpora hold: every one DuckDB reads must come back from qry
// identical; one DuckDB refuses must be left out with DuckDB's reason; the
// encodings DuckDB's default refuses, qry reads as DuckDB does with the
// encoding named.
func TestCSVOddFiles(t *testing.T) {
	dir := t.TempDir()
	ref := fixture.DB(t)
	files := oddCSVFiles(t)
	for name, tc := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(path, tc.content, 0o644))
			refExpr := ""
			if tc.ref != "" {
				refExpr = fmt.Sprintf(tc.ref, quote(path))
			}
			got, detail := checkTextFile(context.Background(), t, ref, path, "csv", refExpr)
			if tc.want == textQryReads && got == textQryReads {
				// What qry read is what DuckDB reads with the encoding named.
				enc := "latin-1"
				if strings.Contains(name, "utf16") {
					enc = "utf-16"
				}
				got, detail = checkTextFile(context.Background(), t, ref, path, "csv", fmt.Sprintf("read_csv(%s, encoding='%s')", quote(path), enc))
				require.Equal(t, textAgreed, got, detail)
				return
			}
			require.Equal(t, tc.want, got, detail)
			if got == textBothRefuse && name == "late bad row.csv" {
				_, refErr := fixture.TryRows(ref, "SELECT * FROM read_csv("+quote(path)+")")
				require.Contains(t, detail, "Line: 25002", "qry gives DuckDB's reason: %v", refErr)
			}
		})
	}
	// Compressed with zstd, by DuckDB itself.
	zst := filepath.Join(dir, "z.csv.zst")
	fixture.Exec(t, ref, "COPY (SELECT i AS a, 'v' || i AS b FROM range(5) r(i)) TO "+quote(zst)+" (FORMAT csv, COMPRESSION zstd)")
	got, detail := checkTextFile(context.Background(), t, ref, zst, "csv", "")
	require.Equal(t, textAgreed, got, detail)
}

// A table whose files differ in dialect and columns reads each file as
// DuckDB reads it alone, united by name.
func TestCSVMixedDialects(t *testing.T) {
	dir := t.TempDir()
	ref := fixture.DB(t)
	files := map[string]string{
		"1.csv": "id,name,day\n1,ann,2024-01-02\n2,bob,2024-01-03\n",
		"2.csv": "name;id\ncid;3\ndan;4\n",
		"3.csv": "id|day|extra\n5|05/01/2024|x\n",
		"4.csv": "6,eve,2024-01-07\n",
	}
	var reads []string
	for name, content := range files {
		p := fixture.Write(t, filepath.Join(dir, "t", name), content)
		reads = append(reads, "SELECT * FROM read_csv("+quote(p)+")")
	}
	sort.Strings(reads)
	cat, err := catalog.Open(context.Background(), catalog.Options{Data: []string{dir}, CacheDir: t.TempDir()})
	require.NoError(t, err)
	defer cat.Close()
	e, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, SandboxDir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	tb, _ := cat.Snapshot().Table("t")
	require.Len(t, tb.Files, 4, "%v", tb.Problems)
	cols := make([]string, 0, len(tb.Columns))
	for _, c := range tb.Columns {
		cols = append(cols, engine.QuoteIdent(c.Name)+"::VARCHAR")
	}
	// DuckDB's union by name of the files read one by one; values as text,
	// since the table's types are the widened ones.
	want := fixture.Rows(t, ref, "SELECT "+strings.Join(cols, ", ")+" FROM ("+strings.Join(reads, " UNION ALL BY NAME ")+") ORDER BY ALL")
	got, _, err := qryRows(context.Background(), e, "SELECT "+strings.Join(cols, ", ")+" FROM t ORDER BY ALL")
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, err := w.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes()
}

// on_error: reject reads what can be read; the lines left out are in the
// table <name>_rejects, as DuckDB's store_rejects reports them.
func TestCSVRejects(t *testing.T) {
	dir := t.TempDir()
	ref := fixture.DB(t)
	var b strings.Builder
	b.WriteString("id,amount,day\n")
	for i := range 30 {
		fmt.Fprintf(&b, "%d,%d.5,2024-01-%02d\n", i, i, i%28+1)
	}
	b.WriteString("30,lots,2024-02-01\n31,2.5\n32,3.5,2024-02-30\n33,4.5,2024-02-03,extra\n34,5.5,2024-02-04\n")
	path := fixture.Write(t, filepath.Join(dir, "sales.csv"), b.String())
	good := fixture.Write(t, filepath.Join(dir, "ok.csv"), "id,amount,day\n100,1.5,2024-03-01\n")

	cfg := &catalog.Config{Tables: []catalog.TableConfig{
		{Name: "sales", Path: path, Format: "csv", Options: map[string]string{"on_error": "reject"}},
		{Name: "clean", Path: good, Format: "csv", Options: map[string]string{"on_error": "reject"}},
	}}
	cat, err := catalog.Open(context.Background(), catalog.Options{Config: cfg, CacheDir: t.TempDir()})
	require.NoError(t, err)
	defer cat.Close()
	e, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, SandboxDir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()

	fixture.Exec(t, ref, "CREATE TABLE r AS SELECT * FROM read_csv("+quote(path)+", store_rejects=true)")
	want := fixture.Rows(t, ref, "SELECT * FROM r")
	got, _, err := qryRows(context.Background(), e, "SELECT * FROM sales")
	require.NoError(t, err)
	require.Equal(t, want, got)
	wantRejects := fixture.Rows(t, ref, "SELECT "+quote(path)+", line, column_name, regexp_replace(error_message, '\\s+', ' ', 'g'), csv_line FROM reject_errors ORDER BY line, column_idx")
	require.NotEmpty(t, wantRejects, "DuckDB rejects lines")
	gotRejects, _, err := qryRows(context.Background(), e, "SELECT file, line, \"column\", error, original_line FROM sales_rejects ORDER BY line, \"column\"")
	require.NoError(t, err)
	require.Equal(t, wantRejects, gotRejects)

	n, _, err := qryRows(context.Background(), e, "SELECT count(*) FROM clean_rejects")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"0"}}, n)
}

// JSON tables read as DuckDB's read_json reads each file, with statistics
// that answer and prune like CSV's (checked by checkTextFile).
func TestJSONFiles(t *testing.T) {
	dir := t.TempDir()
	ref := fixture.DB(t)
	files := map[string]struct {
		content []byte
		want    textOutcome
	}{
		"array.json":        {[]byte(`[{"id": 1, "name": "ann", "score": 2.5}, {"id": 2, "name": "bob", "score": null}]`), textAgreed},
		"lines.ndjson":      {[]byte("{\"id\": 1, \"day\": \"2024-01-02\"}\n{\"id\": 2, \"day\": \"2024-01-03\", \"tags\": [\"a\"]}\n"), textAgreed},
		"lines.jsonl":       {[]byte("{\"a\": {\"b\": 1}}\n{\"a\": {\"b\": 2}}\n"), textAgreed},
		"object.json":       {[]byte(`{"id": 7, "ok": true}`), textAgreed},
		"gzipped.ndjson.gz": {gzipped(t, "{\"x\": 1}\n{\"x\": 2}\n"), textAgreed},
		"broken.json":       {[]byte(`[{"id": 1}, {"id": `), textBothRefuse},
	}
	for name, tc := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			require.NoError(t, os.WriteFile(path, tc.content, 0o644))
			got, detail := checkTextFile(context.Background(), t, ref, path, "json", "read_json("+quote(path)+")")
			require.Equal(t, tc.want, got, detail)
		})
	}
	zst := filepath.Join(dir, "z.json.zst")
	fixture.Exec(t, ref, "COPY (SELECT i AS a, 'v' || i AS b FROM range(5) r(i)) TO "+quote(zst)+" (FORMAT json, COMPRESSION zstd)")
	got, detail := checkTextFile(context.Background(), t, ref, zst, "json", "read_json("+quote(zst)+")")
	require.Equal(t, textAgreed, got, detail)

	// A directory of JSON files with different fields is one table,
	// united by name, pruned by statistics.
	var paths []string
	for i, content := range []string{
		"{\"id\": 1, \"v\": \"a\"}\n{\"id\": 2, \"v\": \"b\"}\n",
		"[{\"id\": 10, \"w\": 1.5}]",
		"{\"v\": \"z\", \"id\": 20}\n",
	} {
		paths = append(paths, fixture.Write(t, filepath.Join(dir, "events", fmt.Sprintf("%d.json", i)), content))
	}
	cat2, err := catalog.Open(context.Background(), catalog.Options{Config: &catalog.Config{Tables: []catalog.TableConfig{{Name: "events", Path: filepath.Join(dir, "events")}}}, CacheDir: t.TempDir()})
	require.NoError(t, err)
	defer cat2.Close()
	e, err := engine.Open(context.Background(), cat2, engine.Options{Sandbox: true, SandboxDir: t.TempDir()})
	require.NoError(t, err)
	defer e.Close()
	list := make([]string, len(paths))
	for i, p := range paths {
		list[i] = quote(p)
	}
	src := "read_json([" + strings.Join(list, ", ") + "], union_by_name=true)"
	want := fixture.Rows(t, ref, "SELECT id, v, w FROM "+src+" ORDER BY id")
	rows, _, err := qryRows(context.Background(), e, "SELECT id, v, w FROM events ORDER BY id")
	require.NoError(t, err)
	require.Equal(t, want, rows)
	want = fixture.Rows(t, ref, "SELECT id, v FROM "+src+" WHERE id >= 10 ORDER BY id")
	rows, plan, err := qryRows(context.Background(), e, "SELECT id, v FROM events WHERE id >= 10 ORDER BY id")
	require.NoError(t, err)
	require.Equal(t, want, rows)
	require.Equal(t, 2, plan.Tables[0].Kept, "the first file's ids are below 10: pruned")
}
