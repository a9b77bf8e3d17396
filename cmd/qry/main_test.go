package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/client"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
)

var qryBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qry-bin")
	if err != nil {
		panic(err)
	}
	qryBin = filepath.Join(dir, "qry")
	build := exec.Command("go", "build", "-o", qryBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("build qry: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func sampleDir(*testing.T) string { return fixture.Sample() }

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(qryBin, append([]string{"--cache-dir", t.TempDir()}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func TestQueryFormatsMatchDuckDB(t *testing.T) {
	sample := sampleDir(t)
	db := fixture.DB(t)
	fixture.Exec(t, db, "CREATE VIEW trips AS SELECT * FROM read_parquet('"+filepath.Join(sample, "trips", "**", "*.parquet")+"', hive_partitioning=true)")
	q := "SELECT payment, count(*) AS n, sum(tip) AS tips, min(pickup_at) AS first FROM trips GROUP BY payment ORDER BY payment"
	want := fixture.Rows(t, db, q)

	t.Run("csv", func(t *testing.T) {
		r := run(t, "", "query", "-d", sample, "-F", "csv", q)
		require.Equal(t, 0, r.code, r.stderr)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Equal(t, "payment,n,tips,first", lines[0])
		require.Len(t, lines, len(want)+1)
		for i, row := range want {
			got := strings.Split(lines[i+1], ",")
			require.Equal(t, row[0], got[0])
			require.Equal(t, row[1], got[1])
			require.Equal(t, strings.TrimSuffix(row[3], ".0"), got[3])
		}
	})
	t.Run("json", func(t *testing.T) {
		r := run(t, "", "query", "-d", sample, "-F", "json", q)
		require.Equal(t, 0, r.code, r.stderr)
		var rows []map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rows))
		require.Len(t, rows, len(want))
		for i, row := range want {
			require.Equal(t, row[0], rows[i]["payment"])
			require.Equal(t, row[1], fixture.Float(rows[i]["n"].(float64))[:len(row[1])])
		}
		// payment 'cash' has no tips: NULL in JSON
		for _, r := range rows {
			if r["payment"] == "cash" {
				require.Nil(t, r["tips"])
			}
		}
	})
	t.Run("ndjson from stdin", func(t *testing.T) {
		r := run(t, q, "query", "-d", sample, "-F", "ndjson")
		require.Equal(t, 0, r.code, r.stderr)
		require.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), len(want))
	})
	t.Run("parquet", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out.parquet")
		r := run(t, "", "query", "-d", sample, "-F", "parquet", "-o", out, q)
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, want, fixture.Rows(t, db, "SELECT * FROM '"+out+"' ORDER BY payment"))
	})
	t.Run("arrow", func(t *testing.T) {
		r := run(t, "", "query", "-d", sample, "-F", "arrow", q)
		require.Equal(t, 0, r.code, r.stderr)
		rd, err := ipc.NewReader(strings.NewReader(r.stdout))
		require.NoError(t, err)
		defer rd.Release()
		require.Equal(t, want, fixture.ArrowRows(t, rd))
	})
	t.Run("table", func(t *testing.T) {
		r := run(t, "", "query", "-d", sample, q)
		require.Equal(t, 0, r.code, r.stderr)
		for _, row := range want {
			require.Contains(t, r.stdout, row[0])
		}
		require.Contains(t, r.stdout, "NULL")
		require.Contains(t, r.stdout, "3 rows")
	})
	t.Run("file", func(t *testing.T) {
		f := fixture.Write(t, filepath.Join(t.TempDir(), "q.sql"), q+";\n")
		r := run(t, "", "query", "-d", sample, "-F", "csv", "-f", f)
		require.Equal(t, 0, r.code, r.stderr)
		require.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), len(want)+1)
	})
}

func TestTablesAndDescribe(t *testing.T) {
	sample := sampleDir(t)
	db := fixture.DB(t)
	r := run(t, "", "tables", "-d", sample, "-F", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var tables []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &tables))
	require.Len(t, tables, 3)
	count := fixture.Rows(t, db, "SELECT count(*) FROM read_parquet('"+filepath.Join(sample, "trips", "**", "*.parquet")+"')")[0][0]
	require.Equal(t, "trips", tables[0]["table"])
	require.Equal(t, count, fixture.Float(tables[0]["rows"].(float64))[:len(count)])

	r = run(t, "", "describe", "-d", sample, "-F", "csv", "weather")
	require.Equal(t, 0, r.code, r.stderr)
	want := fixture.Rows(t, db, "SELECT min(temp_c)::VARCHAR, max(temp_c)::VARCHAR FROM '"+filepath.Join(sample, "weather.csv")+"'")[0]
	require.Contains(t, r.stdout, "temp_c,DOUBLE,false,"+want[0]+","+want[1]+",0")
}

// Every bad input gives a one-line error naming the culprit, a non-zero exit
// code, and no Go stack trace.
func TestBadInput(t *testing.T) {
	sample := sampleDir(t)
	bad := t.TempDir()
	orig, err := os.ReadFile(filepath.Join(sample, "trips", "year=2023", "month=1", "part-0.parquet"))
	require.NoError(t, err)
	fixture.Write(t, filepath.Join(bad, "trunc", "a.parquet"), string(orig))
	fixture.Write(t, filepath.Join(bad, "trunc", "b.parquet"), string(orig[:len(orig)/2]))
	// Past the sniffer's sample, a row whose value does not fit: DuckDB
	// refuses the file at that line.
	rows := "id,v\n" + strings.Repeat("1,2\n", 25000) + "x,4\n"
	fixture.Write(t, filepath.Join(bad, "rows.csv"), rows)
	fixture.Write(t, filepath.Join(bad, "shapes.geojson"), "{\"type\":\"FeatureCollection\",\n \"features\": [ {\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1]}} ]}")

	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stderr   []string
		stdoutOK bool
	}{
		{"truncated parquet is left out", []string{"query", "-d", bad, "-F", "csv", "SELECT count(*) FROM trunc"}, 0,
			[]string{"b.parquet", "left out"}, true},
		{"csv bad row", []string{"query", "-d", bad, "SELECT * FROM rows"}, 1, []string{"rows.csv", "Line: 25002", "does not exist"}, false},
		{"invalid geojson", []string{"query", "-d", bad, "SELECT * FROM shapes"}, 1, []string{"shapes.geojson", "line 2"}, false},
		{"missing directory", []string{"query", "-d", filepath.Join(bad, "nope"), "SELECT 1"}, 1, []string{"nope", "not found"}, false},
		{"unknown table", []string{"query", "-d", sample, "SELECT * FROM tripz"}, 1, []string{"tripz", `Did you mean "trips"`}, false},
		{"unknown column", []string{"query", "-d", sample, "SELECT fair FROM trips"}, 1, []string{`"fair"`, "line 1, column 8"}, false},
		{"syntax error", []string{"query", "-d", sample, "SELECT * FROM trips WHERE"}, 1, []string{"syntax error", "end of input"}, false},
		{"two statements", []string{"query", "-d", sample, "SELECT 1; SELECT 2"}, 1, []string{"one statement"}, false},
		{"bad format", []string{"query", "-d", sample, "-F", "xml", "SELECT 1"}, 2, []string{`"xml"`}, false},
		{"no tables", []string{"query", "SELECT 1"}, 2, []string{"--data"}, false},
		{"unknown describe", []string{"describe", "-d", sample, "nope"}, 1, []string{`"nope"`, "not found"}, false},
		{"bad config", []string{"tables", "-c", fixture.Write(t, filepath.Join(bad, "q.yaml"), "tables:\n  - name: x\n    pth: y\n")}, 1,
			[]string{"q.yaml:3: unknown key \"pth\""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			require.Equal(t, tc.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			for _, s := range tc.stderr {
				require.Contains(t, r.stderr, s)
			}
			require.NotContains(t, r.stderr, "goroutine")
			require.NotContains(t, r.stderr, "panic")
			for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				require.True(t, strings.HasPrefix(line, "qry: "), "one line per message: %q", line)
			}
			if tc.stdoutOK {
				require.NotEmpty(t, r.stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	r := run(t, "", "query", "--help")
	require.Equal(t, 0, r.code)
	require.Contains(t, r.stdout, "Examples:")
	require.Contains(t, r.stdout, "--format")
}

func TestServeStopsCleanlyOnSIGTERM(t *testing.T) {
	cmd, addr := startServe(t)

	c, err := client.Dial(context.Background(), "grpc://"+addr, client.Options{})
	require.NoError(t, err)
	rows, err := c.Query(context.Background(), "SELECT count(*) FROM trips")
	require.NoError(t, err)
	require.True(t, rows.Next())
	rows.Release()
	c.Close()

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exit code 0 after SIGTERM")
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("qry serve did not stop after SIGTERM")
	}
}

// startServe runs qry serve on the sample data on a free port and returns
// it with its address, once it announced it.
func startServe(t *testing.T) (*exec.Cmd, string) {
	t.Helper()
	return startServeWith(t, "--data", sampleDir(t))
}

// startServeWith is startServe over the catalog args give.
func startServeWith(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(qryBin, append([]string{"serve", "--cache-dir", t.TempDir(), "--listen", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	var addr string
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "on grpc://"); ok {
			addr, _, _ = strings.Cut(after, " ")
			break
		}
	}
	require.NotEmpty(t, addr, "qry serve announced its address")
	go func() {
		for sc.Scan() {
		}
	}()
	return cmd, addr
}

// qry query writes to a writable table when no server holds it: the rows
// are in the log when it exits, and the next run reads them back.
func TestQueryInsertsIntoWritableTable(t *testing.T) {
	cfg := notesConfig(t)
	r := run(t, "", "query", "--config", cfg, "-F", "csv", "INSERT INTO notes VALUES (1, 'one'), (2, 'two')")
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, "Count\n2\n", r.stdout)
	r = run(t, "", "query", "--config", cfg, "-F", "csv", "SELECT id, text FROM notes ORDER BY id")
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, "id,text\n1,one\n2,two\n", r.stdout)
	r = run(t, "", "query", "--config", cfg, "INSERT INTO notes (text) VALUES ('no id')")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "NOT NULL")
}

// qry query --server sends an INSERT as an update and prints the rows
// written, as it does locally; a refused one fails with the server's
// reason. The shell goes through the same client.
func TestRemoteInsert(t *testing.T) {
	cfg := notesConfig(t)
	_, addr := startServeWith(t, "--config", cfg)
	server := "grpc://" + addr
	r := run(t, "", "query", "--server", server, "-F", "csv", "INSERT INTO notes VALUES (1, 'one'), (2, 'two')")
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, "Count\n2\n", r.stdout)
	r = run(t, "", "query", "--server", server, "-F", "csv", "INSERT INTO notes SELECT i, 'n' || i FROM range(3, 6) t(i)")
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, "Count\n3\n", r.stdout)
	r = run(t, "", "query", "--server", server, "-F", "csv", "SELECT id, text FROM notes ORDER BY id")
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, "id,text\n1,one\n2,two\n3,n3\n4,n4\n5,n5\n", r.stdout)
	r = run(t, "", "query", "--server", server, "INSERT INTO notes (text) VALUES ('no id')")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "NOT NULL")
	r = run(t, "", "query", "--server", server, "-F", "csv", "SELECT count(*) FROM notes")
	require.Equal(t, "count_star()\n5\n", r.stdout)
	r = run(t, "INSERT INTO notes VALUES (6, 'six');\nSELECT max(id) FROM notes;\n", "shell", "--server", server)
	require.Zero(t, r.code, r.stderr)
	require.Contains(t, r.stdout, "6")
	r = run(t, "", "query", "--server", server, "-F", "csv", "SELECT text FROM notes WHERE id = 6")
	require.Equal(t, "text\nsix\n", r.stdout)
}

// The exit code says what kind of failure it was, locally and through a
// server alike: fault's constants, one case of each class.
func TestExitCodes(t *testing.T) {
	sample := sampleDir(t)
	_, addr := startServe(t) // sandboxed, as by default
	forever := "SELECT count(*) FROM range(1000000000000) r(i) WHERE i % 7 = 3"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"syntax error", []string{"query", "-d", sample, "SELECT * FORM trips"}, fault.ExitFailed, `syntax error at or near "trips" (line 1, column 15)`},
		{"unknown flag", []string{"query", "--bogus", "SELECT 1"}, fault.ExitUsage, "Usage error: unknown flag: --bogus"},
		{"too many arguments", []string{"query", "-d", sample, "SELECT 1", "SELECT 2"}, fault.ExitUsage, "Usage error: accepts at most 1 arg(s)"},
		{"unknown command", []string{"nope"}, fault.ExitUsage, `Usage error: unknown command "nope"`},
		{"sandbox refusal", []string{"query", "-d", sample, "--sandbox", "COPY trips TO '/tmp/qry-exit-code.csv'"}, fault.ExitForbidden, "not allowed"},
		{"timeout", []string{"query", "-d", sample, "--timeout", "200ms", forever}, fault.ExitRetry, "query timed out"},
		{"remote syntax error", []string{"query", "--server", "grpc://" + addr, "SELECT * FORM trips"}, fault.ExitFailed, `syntax error at or near "trips" (line 1, column 15)`},
		{"remote unknown column", []string{"query", "--server", "grpc://" + addr, "SELECT nope FROM trips"}, fault.ExitFailed, `Binder error: Referenced column "nope"`},
		{"remote refusal", []string{"query", "--server", "grpc://" + addr, "COPY trips TO '/tmp/qry-exit-code.csv'"}, fault.ExitForbidden, "not allowed"},
		{"remote timeout", []string{"query", "--server", "grpc://" + addr, "--timeout", "200ms", forever}, fault.ExitRetry, "Timed out"},
		{"bad server URL", []string{"query", "--server", "http://" + addr, "SELECT 1"}, fault.ExitUsage, "Usage error: server URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			require.Equal(t, tc.code, r.code, "stderr: %s", r.stderr)
			require.Contains(t, r.stderr, tc.stderr)
			require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
		})
	}
}

// --explain writes the plan whole as text when piped: qry's lines, then
// DuckDB's physical plan, none cut to a table cell's width.
func TestExplainPipedIsWhole(t *testing.T) {
	r := run(t, "", "query", "-d", sampleDir(t), "--explain", "SELECT payment, count(*) FROM trips WHERE year = 2024 AND fare > 40 GROUP BY 1")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	// The sample has 24 monthly files, 12 of them in 2024.
	require.Equal(t, []string{"qry plan:", "trips: 24 files, 12 read, 12 pruned; predicate: year = 2024 AND fare > 40",
		"partitions: 1 (not a per-row filter or projection: GROUP BY)", "physical_plan:"}, lines[:4])
	require.NotContains(t, r.stdout, "…")
	require.Contains(t, r.stdout, "HASH_GROUP_BY")
	box := lines[4:]
	require.Greater(t, len(box), 10)
	for _, l := range box {
		require.Equal(t, utf8.RuneCountInString(box[0]), utf8.RuneCountInString(l), "a line of the plan's boxes is whole: %q", l)
	}
}

// --format geojson writes a FeatureCollection: each row a feature, its
// geometry the result's geometry column, the other columns properties;
// compared with the GeoJSON file the table reads.
func TestGeoJSONOutput(t *testing.T) {
	r := run(t, "", "query", "-d", sampleDir(t), "-F", "geojson", "SELECT zone_id, name, borough, geometry FROM zones ORDER BY zone_id")
	require.Equal(t, 0, r.code, r.stderr)
	type feature struct {
		Type       string          `json:"type"`
		Geometry   json.RawMessage `json:"geometry"`
		Properties map[string]any  `json:"properties"`
	}
	var got, want struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
	data, err := os.ReadFile(filepath.Join(sampleDir(t), "zones.geojson"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &want))
	require.Equal(t, "FeatureCollection", got.Type)
	require.Len(t, got.Features, len(want.Features))
	for i, w := range want.Features {
		g := got.Features[i]
		require.Equal(t, "Feature", g.Type)
		require.JSONEq(t, string(w.Geometry), string(g.Geometry), "feature %d", i)
		for _, k := range []string{"zone_id", "name", "borough"} {
			require.Equal(t, w.Properties[k], g.Properties[k], "feature %d: %s", i, k)
		}
		require.Len(t, g.Properties, 3, "the geometry is not a property")
	}

	r = run(t, "", "query", "-d", sampleDir(t), "-F", "geojson", "SELECT 1 AS x")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "format geojson needs a geometry column")
}

// qry subscribe prints each new matching row as a JSON line as it is
// written, and says on exit where to resume; --from resumes there.
func TestSubscribeCommand(t *testing.T) {
	cfg := notesConfig(t)
	_, addr := startServeWith(t, "--config", cfg)
	server := "grpc://" + addr
	// From 0: every row, however soon the writes below come.
	sub := exec.Command(qryBin, "subscribe", "--server", server, "--from", "0", "SELECT id, text FROM notes WHERE id % 2 = 0")
	stdout, err := sub.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	sub.Stderr = &stderr
	require.NoError(t, sub.Start())
	t.Cleanup(func() { _ = sub.Process.Kill() })
	lines := bufio.NewScanner(stdout)
	var want []string
	for i := 1; i <= 6; i++ {
		r := run(t, "", "query", "--server", server, fmt.Sprintf("INSERT INTO notes VALUES (%d, 'n%d')", i, i))
		require.Zero(t, r.code, r.stderr)
		if i%2 == 0 {
			want = append(want, fmt.Sprintf(`{"id":%d,"text":"n%d"}`, i, i))
		}
	}
	var got []string
	for len(got) < len(want) && lines.Scan() {
		got = append(got, lines.Text())
	}
	require.Equal(t, want, got)
	require.NoError(t, sub.Process.Signal(os.Interrupt))
	_ = sub.Wait()
	require.Contains(t, stderr.String(), "resume with --from 6")

	r := run(t, "", "query", "--server", server, "INSERT INTO notes VALUES (8, 'n8'), (9, 'n9')")
	require.Zero(t, r.code, r.stderr)
	resumed := exec.Command(qryBin, "subscribe", "--server", server, "--from", "4", "SELECT id, text FROM notes WHERE id % 2 = 0")
	out, err := resumed.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, resumed.Start())
	t.Cleanup(func() { _ = resumed.Process.Kill() })
	lines = bufio.NewScanner(out)
	got = nil
	for len(got) < 2 && lines.Scan() {
		got = append(got, lines.Text())
	}
	require.Equal(t, []string{`{"id":6,"text":"n6"}`, `{"id":8,"text":"n8"}`}, got)
}

// notesConfig writes a qry.yaml declaring the writable table notes (id
// BIGINT NOT NULL, text VARCHAR) and returns its path.
func notesConfig(t *testing.T) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "qry.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`tables:
  - name: notes
    path: notes
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: text, type: VARCHAR}
    writable: {tick: 1h}
`), 0o644))
	return cfg
}
