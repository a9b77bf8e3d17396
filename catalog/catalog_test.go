package catalog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/internal/fixture"
)

func open(t *testing.T, opts catalog.Options) *catalog.Catalog {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	c, err := catalog.Open(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func column(t *testing.T, tb *catalog.Table, name string) catalog.Column {
	t.Helper()
	for _, c := range tb.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("table %s has no column %s (has %v)", tb.Name, name, tb.Columns)
	return catalog.Column{}
}

func TestHivePartitionsAreTyped(t *testing.T) {
	dir := t.TempDir()
	db := fixture.DB(t)
	fixture.Exec(t, db,
		`CREATE TABLE t AS SELECT i AS id, 2020 + i % 3 AS year, ['eu','us'][1 + i % 2] AS region,
		   (DATE '2024-01-01' + (i % 2)::INT)::VARCHAR AS day FROM range(60) r(i)`,
		"COPY t TO '"+filepath.Join(dir, "events")+"' (FORMAT parquet, PARTITION_BY (year, region, day))")
	c := open(t, catalog.Options{Data: []string{dir}})
	tb, ok := c.Snapshot().Table("events")
	require.True(t, ok)

	want := fixture.Rows(t, db, "SELECT count(DISTINCT (year, region, day)) FROM t")[0][0]
	require.Equal(t, want, itoa(len(tb.Files)))
	require.Equal(t, catalog.Column{Name: "year", Type: "BIGINT", Partition: true}, column(t, tb, "year"))
	require.Equal(t, catalog.Column{Name: "region", Type: "VARCHAR", Partition: true}, column(t, tb, "region"))
	require.Equal(t, catalog.Column{Name: "day", Type: "DATE", Partition: true}, column(t, tb, "day"))
	require.Equal(t, "BIGINT", column(t, tb, "id").Type)
	require.Empty(t, tb.Problems)

	// Every file knows its partition values, matching its path.
	for _, f := range tb.Files {
		require.Contains(t, f.Path, "year="+f.Partition["year"])
		require.Contains(t, f.Path, "region="+f.Partition["region"])
	}
	// Partition stats come from the paths.
	st, ok := tb.ColumnStats("year")
	require.True(t, ok)
	require.Equal(t, fixture.Rows(t, db, "SELECT min(year)::VARCHAR, max(year)::VARCHAR FROM t")[0], []string{st.Min, st.Max})
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSchemaUnionAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "t")
	require.NoError(t, os.MkdirAll(tdir, 0o755))
	db := fixture.DB(t)
	fixture.Exec(t, db,
		"COPY (SELECT 1::INTEGER AS a, 'x' AS b) TO '"+filepath.Join(tdir, "1.parquet")+"'",
		"COPY (SELECT 5000000000::BIGINT AS a, 2.5::DOUBLE AS c) TO '"+filepath.Join(tdir, "2.parquet")+"'",
		"COPY (SELECT 'oops' AS a) TO '"+filepath.Join(tdir, "3.parquet")+"'",
	)
	c := open(t, catalog.Options{Data: []string{dir}})
	tb, ok := c.Snapshot().Table("t")
	require.True(t, ok)
	require.Equal(t, []catalog.Column{{Name: "a", Type: "BIGINT"}, {Name: "b", Type: "VARCHAR"}, {Name: "c", Type: "DOUBLE"}}, tb.Columns)
	require.Len(t, tb.Files, 2)
	require.Len(t, tb.Problems, 1)
	require.Contains(t, tb.Problems[0].Error(), "3.parquet")
	require.Contains(t, tb.Problems[0].Error(), "column a is VARCHAR")
	require.ErrorIs(t, tb.Problems[0].Err, catalog.ErrSchema)

	// Column b is missing from 2.parquet: its rows count as NULLs there.
	st, ok := tb.ColumnStats("b")
	require.True(t, ok)
	require.Equal(t, int64(1), st.NullCount)
}

func TestParquetStatsMatchDuckDB(t *testing.T) {
	dir := t.TempDir()
	db := fixture.DB(t)
	path := filepath.Join(dir, "m.parquet")
	fixture.Exec(t, db, `COPY (SELECT i AS n, CASE WHEN i % 7 = 0 THEN NULL ELSE -i * 1.5 END AS x,
		'k' || lpad(i::VARCHAR, 4, '0') AS s, DATE '2020-02-28' + i::INT AS d,
		TIMESTAMP '2024-03-01 12:00:00' + to_seconds(i) AS ts
		FROM range(-50, 5000) r(i)) TO '`+path+`' (FORMAT parquet, ROW_GROUP_SIZE 1000)`)
	c := open(t, catalog.Options{Data: []string{dir}})
	tb, ok := c.Snapshot().Table("m")
	require.True(t, ok)
	require.Len(t, tb.Files, 1)
	f := tb.Files[0]
	require.Equal(t, fixture.Rows(t, db, "SELECT count(*) FROM '"+path+"'")[0][0], itoa(int(f.Rows)))
	for _, col := range []string{"n", "x", "s", "d", "ts"} {
		want := fixture.Rows(t, db, "SELECT min("+col+")::VARCHAR, max("+col+")::VARCHAR, (count(*) - count("+col+"))::VARCHAR FROM '"+path+"'")[0]
		st := f.Stats[col]
		require.True(t, st.HasMinMax, col)
		require.Equal(t, want, []string{st.Min, st.Max, itoa(int(st.NullCount))}, col)
	}
}

func TestCSVStatsAndBadRows(t *testing.T) {
	dir := t.TempDir()
	db := fixture.DB(t)
	good := fixture.Write(t, filepath.Join(dir, "good.csv"), "id,name,score\n1,ann,2.5\n2,bob,\n3,,-7.25\n")
	// Past the sniffer's sample, a row that does not fit the column's type:
	// DuckDB refuses the file, naming the line, and so does qry.
	var bad strings.Builder
	bad.WriteString("a,b\n")
	for i := range 30000 {
		fmt.Fprintf(&bad, "%d,%d\n", i, i)
	}
	bad.WriteString("oops,1\n")
	badPath := fixture.Write(t, filepath.Join(dir, "bad.csv"), bad.String())
	_, err := fixture.TryRows(db, "SELECT * FROM read_csv('"+badPath+"')")
	require.ErrorContains(t, err, "Line: 30002", "DuckDB refuses the file")
	c := open(t, catalog.Options{Data: []string{dir}})
	snap := c.Snapshot()
	tb, ok := snap.Table("good")
	require.True(t, ok)
	f := tb.Files[0]
	for _, col := range []string{"id", "name", "score"} {
		want := fixture.Rows(t, db, "SELECT min("+col+")::VARCHAR, max("+col+")::VARCHAR, (count(*) - count("+col+"))::VARCHAR FROM read_csv('"+good+"')")[0]
		st := f.Stats[col]
		require.Equal(t, want, []string{st.Min, st.Max, itoa(int(st.NullCount))}, col)
	}
	_, ok = snap.Table("bad")
	require.False(t, ok)
	require.Len(t, snap.Problems, 1)
	msg := snap.Problems[0].Error()
	require.Contains(t, msg, "bad.csv")
	require.Contains(t, msg, "Line: 30002")
}

// Files of one table are unified by name, whatever their column order:
// each is read with its own columns.
func TestCSVFilesUnifyByName(t *testing.T) {
	dir := t.TempDir()
	fixture.Write(t, filepath.Join(dir, "t", "1.csv"), "a,b\n1,2\n")
	fixture.Write(t, filepath.Join(dir, "t", "2.csv"), "a,b\n3,x\n")
	fixture.Write(t, filepath.Join(dir, "t", "3.csv"), "b;a;c\n5;6;7\n")
	c := open(t, catalog.Options{Data: []string{dir}})
	tb, ok := c.Snapshot().Table("t")
	require.True(t, ok)
	// b is a number in 1.csv and text in 2.csv: text wins in a text format.
	require.Equal(t, []catalog.Column{{Name: "a", Type: "BIGINT"}, {Name: "b", Type: "VARCHAR"}, {Name: "c", Type: "BIGINT"}}, tb.Columns)
	require.Len(t, tb.Files, 3)
	require.Empty(t, tb.Problems)
	require.Equal(t, "';'", tb.Files[2].Read["delim"], "the sniffer's dialect is kept per file")
}

func TestDataDirectoryNaming(t *testing.T) {
	dir := t.TempDir()
	db := fixture.DB(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "trips", "_tmp"), 0o755))
	fixture.Exec(t, db, "COPY (SELECT 1 AS x) TO '"+filepath.Join(dir, "trips", "a.parquet")+"'")
	fixture.Write(t, filepath.Join(dir, "trips", "_tmp", "junk.parquet"), "not parquet")
	fixture.Write(t, filepath.Join(dir, "trips", "README.md"), "ignored")
	fixture.Write(t, filepath.Join(dir, "zones.geojson"), `{"type":"Feature","properties":{"k":1},"geometry":{"type":"Point","coordinates":[1,2]}}`)
	fixture.Write(t, filepath.Join(dir, "weather.csv"), "a\n1\n")
	fixture.Write(t, filepath.Join(dir, ".hidden.csv"), "a\n1\n")
	fixture.Write(t, filepath.Join(dir, "notes.txt"), "ignored")
	c := open(t, catalog.Options{Data: []string{dir}})
	var names []string
	for _, tb := range c.Snapshot().Tables {
		names = append(names, tb.Name+":"+tb.Format)
		require.Empty(t, tb.Problems, tb.Name)
	}
	require.Equal(t, []string{"trips:parquet", "weather:csv", "zones:geojson"}, names)
}

func TestMissingDataDirectory(t *testing.T) {
	_, err := catalog.Open(context.Background(), catalog.Options{Data: []string{"/no/such/dir"}, CacheDir: t.TempDir()})
	require.ErrorIs(t, err, catalog.ErrNotFound)
	require.Contains(t, err.Error(), "/no/such/dir")
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	fixture.Write(t, filepath.Join(dir, "data", "w.csv"), "day,temp\n2024-01-01,3.5\n")
	cfgPath := fixture.Write(t, filepath.Join(dir, "qry.yaml"), `
tables:
  - name: weather
    path: data/w.csv
    columns:
      - {name: day, type: date}
      - {name: temp, type: "decimal(5,2)"}
`)
	cfg, err := catalog.LoadConfig(cfgPath)
	require.NoError(t, err)
	c := open(t, catalog.Options{Config: cfg})
	tb, ok := c.Snapshot().Table("weather")
	require.True(t, ok)
	require.Equal(t, []catalog.Column{{Name: "day", Type: "DATE"}, {Name: "temp", Type: "DECIMAL(5,2)"}}, tb.Columns)
	require.Equal(t, "3.50", tb.Files[0].Stats["temp"].Min)

	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key", "tables:\n  - name: x\n    path: y\n    colour: red\n", "line 4: field colour not found"},
		{"bad format", "tables:\n  - name: x\n    path: y\n    format: xlsx\n", `format: "xlsx" is not parquet`},
		{"no path", "tables:\n  - name: x\n", "path is missing"},
		{"twice", "tables:\n  - {name: x, path: a}\n  - {name: X, path: b}\n", "declared twice"},
		{"not yaml", "tables: [", "yaml"},
		{"remote writable without wal", "tables:\n  - name: x\n    path: s3://b/x/\n    columns: [{name: a, type: INT}]\n    writable: {tick: 1s}\n",
			"a writable table on object storage needs wal: a local directory"},
		{"wal on object storage", "tables:\n  - name: x\n    path: s3://b/x/\n    columns: [{name: a, type: INT}]\n    writable: {wal: s3://b/wal/}\n",
			"the write-ahead log is on local disk"},
		{"avro without registry", kafkaTable("format: avro"), "format avro needs registry"},
		{"registry not a URL", kafkaTable("format: avro, registry: 'localhost:8081'"), `registry "localhost:8081" is not an http(s) URL`},
		{"registry for json", kafkaTable("registry: 'http://r:8081'"), `registry is for format avro, and the format is "json"`},
		{"unknown kafka format", kafkaTable("format: protobuf"), `format "protobuf" is not json, csv, arrow or avro`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := catalog.ParseConfig([]byte(tc.yaml))
			require.ErrorIs(t, err, catalog.ErrConfig)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// kafkaTable is a Kafka-fed table's declaration with more settings of
// its source.
func kafkaTable(more string) string {
	return "tables:\n  - name: x\n    path: x\n    columns: [{name: a, type: INT}]\n    writable: {tick: 1s}\n" +
		"    source: {kafka: {brokers: [b:9092], topic: t, " + more + "}}\n"
}

func TestRefreshIsIncremental(t *testing.T) {
	dir := t.TempDir()
	db := fixture.DB(t)
	tdir := filepath.Join(dir, "t")
	require.NoError(t, os.MkdirAll(tdir, 0o755))
	fixture.Exec(t, db, "COPY (SELECT 1 AS x) TO '"+filepath.Join(tdir, "a.parquet")+"'")
	c := open(t, catalog.Options{Data: []string{dir}})
	before := c.Snapshot()
	tb, _ := before.Table("t")

	// Nothing changed: same snapshot version.
	require.NoError(t, c.Refresh(context.Background()))
	require.Equal(t, before.Version, c.Snapshot().Version)

	fixture.Exec(t, db, "COPY (SELECT 2 AS x UNION ALL SELECT 3) TO '"+filepath.Join(tdir, "b.parquet")+"'")
	require.NoError(t, c.Refresh(context.Background()))
	after := c.Snapshot()
	require.Equal(t, before.Version+1, after.Version)
	tb2, _ := after.Table("t")
	require.Len(t, tb2.Files, 2)
	require.Same(t, tb.Files[0], tb2.Files[0], "an unchanged file is not inspected again")
	require.Equal(t, int64(3), tb2.Rows())

	require.NoError(t, os.Remove(filepath.Join(tdir, "a.parquet")))
	require.NoError(t, c.Refresh(context.Background()))
	tb3, _ := c.Snapshot().Table("t")
	require.Len(t, tb3.Files, 1)
	// The old snapshot is untouched.
	require.Len(t, tb2.Files, 2)
}

func TestSymlinkOutOfRootIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	fixture.Write(t, filepath.Join(outside, "secret.csv"), "pw\nhunter2\n")
	fixture.Write(t, filepath.Join(dir, "t", "ok.csv"), "pw\nfine\n")
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(dir, "t", "link.csv")))
	c := open(t, catalog.Options{Data: []string{dir}})
	tb, _ := c.Snapshot().Table("t")
	require.Len(t, tb.Files, 1)
	require.Len(t, tb.Problems, 1)
	require.Contains(t, tb.Problems[0].Error(), "link.csv")
}

func TestWiden(t *testing.T) {
	for _, tc := range []struct {
		a, b  string
		text  bool
		want  string
		valid bool
	}{
		{"INTEGER", "BIGINT", false, "BIGINT", true},
		{"TINYINT", "SMALLINT", false, "SMALLINT", true},
		{"UINTEGER", "INTEGER", false, "BIGINT", true},
		{"BIGINT", "DOUBLE", false, "DOUBLE", true},
		{"FLOAT", "DOUBLE", false, "DOUBLE", true},
		{"DECIMAL(10,2)", "BIGINT", false, "DOUBLE", true},
		{"DATE", "TIMESTAMP", false, "TIMESTAMP", true},
		{"TIMESTAMP_MS", "TIMESTAMP", false, "TIMESTAMP", true},
		{"VARCHAR", "BIGINT", false, "", false},
		{"VARCHAR", "BIGINT", true, "VARCHAR", true},
		{"BOOLEAN", "DATE", false, "", false},
	} {
		t.Run(tc.a+"+"+tc.b, func(t *testing.T) {
			got, ok := catalog.Widen(tc.a, tc.b, tc.text)
			require.Equal(t, tc.valid, ok)
			require.Equal(t, tc.want, got)
			got2, _ := catalog.Widen(tc.b, tc.a, tc.text)
			require.Equal(t, got, got2, "widening is symmetric")
		})
	}
}

func TestRestartReadsPersistedStatistics(t *testing.T) {
	dir := t.TempDir()
	cache := t.TempDir()
	db := fixture.DB(t)
	tdir := filepath.Join(dir, "t")
	require.NoError(t, os.MkdirAll(tdir, 0o755))
	fixture.Exec(t, db,
		"COPY (SELECT range AS x FROM range(10)) TO '"+filepath.Join(tdir, "a.parquet")+"'",
		"COPY (SELECT range AS x FROM range(5)) TO '"+filepath.Join(tdir, "b.parquet")+"'")
	first := open(t, catalog.Options{Data: []string{dir}, CacheDir: cache})
	want, _ := first.Snapshot().Table("t")

	// Corrupt a.parquet's content without changing its size or mtime: a
	// catalog that reopened the footer would now fail; one that reads the
	// persisted statistics does not notice.
	path := filepath.Join(tdir, "a.parquet")
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, make([]byte, st.Size()), 0o644))
	require.NoError(t, os.Chtimes(path, st.ModTime(), st.ModTime()))

	second := open(t, catalog.Options{Data: []string{dir}, CacheDir: cache})
	got, ok := second.Snapshot().Table("t")
	require.True(t, ok)
	require.Empty(t, got.Problems)
	require.Equal(t, want.Rows(), got.Rows())
	require.Equal(t, want.Files[0].Stats, got.Files[0].Stats)

	// A changed file is inspected again (and now fails, named).
	require.NoError(t, os.Chtimes(path, st.ModTime().Add(time.Second), st.ModTime().Add(time.Second)))
	third := open(t, catalog.Options{Data: []string{dir}, CacheDir: cache})
	got, _ = third.Snapshot().Table("t")
	require.Len(t, got.Problems, 1)
	require.Contains(t, got.Problems[0].Error(), "a.parquet")
}

// A Parquet file counts the rows of its row groups; one whose footer says
// otherwise is Inexact, through either way of inspecting (one by one, in a
// batch) and through the persisted statistics.
func TestParquetFooterRowCountDisagrees(t *testing.T) {
	for _, threads := range []int{1, 2} { // 1: one batch of both files; 2: one by one
		t.Run(strconv.Itoa(threads), func(t *testing.T) {
			dir, cache := t.TempDir(), t.TempDir()
			tdir := filepath.Join(dir, "t")
			require.NoError(t, os.MkdirAll(tdir, 0o755))
			fixture.Exec(t, fixture.DB(t),
				"COPY (SELECT range AS x FROM range(6)) TO '"+filepath.Join(tdir, "a.parquet")+"'",
				"COPY (SELECT range AS x FROM range(4)) TO '"+filepath.Join(tdir, "b.parquet")+"'")
			fixture.SetParquetNumRows(t, filepath.Join(tdir, "a.parquet"), 0)
			for range 2 { // inspected, then from the persisted statistics
				c := open(t, catalog.Options{Data: []string{dir}, CacheDir: cache, Threads: threads})
				tb, ok := c.Snapshot().Table("t")
				require.True(t, ok)
				require.Len(t, tb.Files, 2)
				a, b := tb.Files[0], tb.Files[1]
				require.Equal(t, []int64{6, 4}, []int64{a.Rows, b.Rows})
				require.Equal(t, []bool{true, false}, []bool{a.Inexact, b.Inexact})
				require.True(t, b.Stats["x"].HasMinMax)
				_, ok = tb.ColumnStats("x")
				require.False(t, ok, "an Inexact file's statistics are not the table's")
			}
		})
	}
}
