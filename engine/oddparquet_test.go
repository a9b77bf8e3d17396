package engine_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// oddParquet writes Parquet files whose footers say less, or other, than
// their data: each file is a table of its own (the file name without
// .parquet). It returns the table names.
func oddParquet(t *testing.T, dir string) []string {
	t.Helper()
	db := fixture.DB(t)
	path := func(name string) string { return filepath.Join(dir, name+".parquet") }
	copyTo := func(name, query, opts string) {
		fixture.Exec(t, db, "COPY ("+query+") TO '"+path(name)+"' (FORMAT parquet"+opts+")")
	}
	six := "SELECT i, 'v' || i AS s, i / 4 AS x FROM range(6) r(i)"
	many := `SELECT i, CASE WHEN i < 3000 THEN NULL ELSE i - 5000 END AS n,
	           CASE WHEN i % 7 = 0 THEN NULL ELSE chr((65 + i // 400)::INT) || i END AS s,
	           DATE '2020-01-01' + (i // 10)::INT AS d
	         FROM range(10000) r(i)`

	// Footers whose row count disagrees with their row groups (early
	// parquet-rs wrote num_rows = 0).
	copyTo("rows0", six, "")
	fixture.SetParquetNumRows(t, path("rows0"), 0)
	copyTo("rows100", six, "")
	fixture.SetParquetNumRows(t, path("rows100"), 100)
	copyTo("rowgroups_rows0", many, ", ROW_GROUP_SIZE 2048")
	fixture.SetParquetNumRows(t, path("rowgroups_rows0"), 0)
	// Good files: several row groups, some all NULL in a column.
	copyTo("rowgroups", many, ", ROW_GROUP_SIZE 2048")
	copyTo("empty", six+" WHERE false", "")
	copyTo("allnull", "SELECT NULL::INTEGER AS i, NULL::VARCHAR AS s, NULL::DOUBLE AS x, NULL::DATE AS d FROM range(5)", "")
	// NaN and infinities, which Parquet statistics leave out.
	copyTo("nan", `SELECT i, CASE WHEN i = 3 THEN 'nan'::DOUBLE WHEN i = 4 THEN 'inf'::DOUBLE
	                 WHEN i = 5 THEN '-0.0'::DOUBLE ELSE i * 1.5 END AS x,
	                 CASE WHEN i = 2 THEN 'nan'::FLOAT ELSE i::FLOAT / 3 END AS f FROM range(8) r(i)`, "")
	copyTo("nan_only", "SELECT 'nan'::DOUBLE AS x, 'nan'::FLOAT AS f FROM range(3)", "")
	// Strings longer than DuckDB writes in statistics: truncated, marked
	// as not exact.
	copyTo("longstr", "SELECT i, repeat('m', 300) || i AS s, repeat('z', 300) AS z FROM range(4) r(i)", "")
	// Unsigned integers beyond the signed range; decimals of every
	// physical width; times of every unit.
	copyTo("unsigned", `SELECT i::UTINYINT * 60 AS u8, i::USMALLINT * 16000 AS u16, i::UINTEGER * 1000000000 AS u32,
	                      (18446744073709551615::UBIGINT - i::UBIGINT * 9000000000000000000) AS u64 FROM range(3) r(i)`, "")
	copyTo("decimals", `SELECT (i - 2) * 12.5::DECIMAL(4,1) AS d4, (i - 2) * 1234567.891::DECIMAL(18,3) AS d18,
	                      (i - 2) * 123456789012345678901234.5678901234::DECIMAL(38,10) AS d38 FROM range(5) r(i)`, "")
	copyTo("times", `SELECT DATE '1969-12-30' + i::INT AS d, TIMESTAMP '1969-12-31 23:59:59.5' + to_seconds(i) AS ts,
	                   ('2024-01-01 00:00:00.000000001'::TIMESTAMP_NS + to_microseconds(i)) AS ns,
	                   TIMESTAMPTZ '2024-03-10 01:30:00+00' + to_hours(i) AS tz, TIME '23:59:59' - to_seconds(i) AS tm,
	                   (TIMESTAMP '2000-01-01' + to_seconds(i))::TIMESTAMP_MS AS ms, (TIMESTAMP '2000-01-01' + to_seconds(i))::TIMESTAMP_S AS sec
	                 FROM range(4) r(i)`, "")
	copyTo("mixed", "SELECT i % 2 = 0 AS b, (i - 3)::HUGEINT * 170141183460469231731687303715884105 AS h, -i::TINYINT AS t8 FROM range(7) r(i)", "")

	// arrow-go's writer: no statistics; statistics dropped for long
	// values; INT96 timestamps; unsigned and decimal types as it writes
	// them; small row groups; no rows at all.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	rows := `[{"i": 3, "s": "c", "x": 1.5, "d": "2024-01-03"}, {"i": -7, "s": null, "x": null, "d": "1999-12-31"},
	          {"i": null, "s": "a", "x": -2.25, "d": null}, {"i": 12, "s": "b", "x": 0, "d": "2024-02-29"}]`
	fixture.WriteParquet(t, path("nostats"), schema, rows, []parquet.WriterProperty{parquet.WithStats(false)})
	fixture.WriteParquet(t, path("arrow_plain"), schema, rows, nil)
	fixture.WriteParquet(t, path("arrow_rowgroups"), schema, rows, []parquet.WriterProperty{parquet.WithMaxRowGroupLength(1)})
	fixture.WriteParquet(t, path("arrow_empty"), schema, `[]`, nil)
	long := `[{"i": 1, "s": "` + strings.Repeat("k", 40) + `1", "x": 1, "d": "2024-01-01"}, {"i": 2, "s": "` + strings.Repeat("k", 40) + `2", "x": 2, "d": "2024-01-02"}]`
	fixture.WriteParquet(t, path("maxstats"), schema, long, []parquet.WriterProperty{parquet.WithMaxStatsSize(16)})
	fixture.WriteParquet(t, path("int96"), arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}, Nullable: true},
	}, nil), `[{"ts": "1900-01-01T00:00:00"}, {"ts": "2024-05-06T07:08:09.123456"}, {"ts": "1970-01-01T00:00:00.000001"}]`,
		nil, pqarrow.WithDeprecatedInt96Timestamps(true))
	fixture.WriteParquet(t, path("arrow_unsigned"), arrow.NewSchema([]arrow.Field{
		{Name: "u8", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32, Nullable: true},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
	}, nil), `[{"u8": 1, "u32": 1, "u64": 1}, {"u8": 255, "u32": 4294967295, "u64": 18446744073709551615}, {"u8": 128, "u32": 2147483648, "u64": 9223372036854775808}]`, nil)
	fixture.WriteParquet(t, path("arrow_decimal"), arrow.NewSchema([]arrow.Field{
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 20, Scale: 2}, Nullable: true},
	}, nil), `[{"d": "-12345678901234.56"}, {"d": "0.01"}, {"d": "-0.01"}, {"d": "99999999999999.99"}]`, nil)
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues([]float64{1, math.NaN(), -3.5, 2}, nil)
	b.AppendNull()
	xs := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil), []arrow.Array{xs}, int64(xs.Len()))
	xs.Release()
	fixture.WriteRecord(t, path("arrow_nan"), rec, nil)
	rec.Release()

	names, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	require.NoError(t, err)
	for i, n := range names {
		names[i] = strings.TrimSuffix(filepath.Base(n), ".parquet")
	}
	sort.Strings(names)
	return names
}

// Statistics never answer wrongly: over every odd file, qry's answers
// equal DuckDB's reading the file directly.
func TestParquetStatisticsDifferential(t *testing.T) {
	dir := t.TempDir()
	tables := oddParquet(t, dir)
	e := openEngine(t, dir, engine.Options{})
	ref := fixture.DB(t)
	ctx := context.Background()
	total := fileCheck{}
	for _, table := range tables {
		t.Run(table, func(t *testing.T) {
			fc, err := checkParquetFile(ctx, e, ref, table, filepath.Join(dir, table+".parquet"))
			require.NoError(t, err)
			require.Empty(t, fc.diffs)
			require.Zero(t, fc.refRefused)
			total.queries += fc.queries
			total.fromStats += fc.fromStats
			total.pruned += fc.pruned
		})
	}
	t.Logf("%d files, %d queries, %d answered from statistics, %d read no file", len(tables), total.queries, total.fromStats, total.pruned)

	// Statistics still serve good files, and never the odd ones.
	// "stats": answered from statistics; "pruned": the file is not read;
	// "read": DuckDB reads the file.
	for _, tc := range []struct{ query, how string }{
		{"SELECT count(*), min(n), max(d) FROM rowgroups", "stats"},
		{"SELECT count(*) FROM rowgroups WHERE n > 5000", "pruned"},
		{"SELECT count(*) FROM rowgroups WHERE n IS NULL AND d > '2023-01-01'", "pruned"},
		{"SELECT count(*) FROM rowgroups WHERE s = 'A7'", "read"},
		{"SELECT count(*) FROM rowgroups WHERE s = 'Z1'", "pruned"}, // s's statistics span A..Y
		{"SELECT count(*) FROM rows0", "read"},
		{"SELECT count(*), min(i) FROM rowgroups_rows0", "read"},
		{"SELECT count(*) FROM rowgroups_rows0 WHERE n > 5000", "read"},
		{"SELECT count(*) FROM rows100 WHERE i > 10", "read"},
		{"SELECT count(*) FROM empty WHERE i > 10", "pruned"},
		{"SELECT count(*) FROM allnull WHERE i > 10", "pruned"},
		{"SELECT count(*) FROM longstr WHERE z > 'zzzz'", "read"}, // truncated statistics
		// Unsigned integers and decimals in byte arrays: trusted where
		// the writer marks its statistics exact (DuckDB does), not
		// otherwise (arrow-go does not).
		{"SELECT count(*) FROM unsigned WHERE u64 < 5", "pruned"},
		{"SELECT count(*) FROM decimals WHERE d4 > 30", "pruned"},
		{"SELECT count(*) FROM decimals WHERE d18 > 10000000", "pruned"},
		{"SELECT count(*) FROM arrow_unsigned WHERE u64 < 1", "read"},
		{"SELECT count(*) FROM arrow_decimal WHERE d > 100000000000000", "read"},
		{"SELECT count(*) FROM int96 WHERE ts > '2030-01-01'", "read"},
		{"SELECT count(*) FROM arrow_plain WHERE s > 'zz'", "read"}, // strings not marked exact
		// Float statistics leave NaN out, which sorts above every number.
		{"SELECT count(*) FROM arrow_nan WHERE x > 1000", "read"},
		{"SELECT count(*) FROM arrow_nan WHERE x < -4", "pruned"},
		{"SELECT count(*) FROM arrow_plain WHERE x < -3", "pruned"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got, plan, err := qryRows(ctx, e, tc.query)
			require.NoError(t, err)
			table := plan.Tables[0].Table
			want := fixture.Rows(t, ref, strings.Replace(tc.query, "FROM "+table, "FROM read_parquet('"+filepath.Join(dir, table+".parquet")+"')", 1))
			require.Equal(t, want, got)
			how := "read"
			switch {
			case plan.Tables[0].Kept == 0:
				how = "pruned"
			case plan.FromStats:
				how = "stats"
			}
			require.Equal(t, tc.how, how, plan.String())
		})
	}
}

// A table of many files is inspected in batches; files whose names DuckDB
// changes (repeated names) must read, and answer from statistics, as
// DuckDB reads them.
func TestParquetBatchKeepsDuckDBNames(t *testing.T) {
	dir := t.TempDir()
	tdir := filepath.Join(dir, "dups")
	require.NoError(t, os.MkdirAll(tdir, 0o755))
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "c", Type: arrow.PrimitiveTypes.Int64},
		{Name: "C", Type: arrow.PrimitiveTypes.Int64},
		{Name: "c", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for k := range 4 {
		for col := range 3 {
			b.Field(col).(*array.Int64Builder).AppendValues([]int64{int64(100*col + k), int64(100*col + k + 10)}, nil)
		}
		rec := b.NewRecordBatch()
		fixture.WriteRecord(t, filepath.Join(tdir, fmt.Sprintf("f%d.parquet", k)), rec, nil)
		rec.Release()
	}
	e := openEngine(t, dir, engine.Options{Threads: 1})
	ref := fixture.DB(t)
	src := "read_parquet('" + filepath.Join(tdir, "*.parquet") + "')"
	for _, q := range []string{
		"SELECT * FROM %s ORDER BY ALL",
		"SELECT min(c), max(c), count(*) FROM %s",
		"SELECT count(*) FROM %s WHERE c > 50",
	} {
		got, _, err := qryRows(context.Background(), e, fmt.Sprintf(q, "dups"))
		require.NoError(t, err)
		require.Equal(t, fixture.Rows(t, ref, fmt.Sprintf(q, src)), got, q)
	}
}

// An Inexact file is still ruled out by its partition values, never by its
// statistics; the others keep theirs.
func TestParquetInexactFileAndPartitions(t *testing.T) {
	dir := t.TempDir()
	db := fixture.DB(t)
	for p, n := range []int{6, 4} {
		path := filepath.Join(dir, "hp", fmt.Sprintf("p=%d", p), "f.parquet")
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		fixture.Exec(t, db, fmt.Sprintf("COPY (SELECT range AS i FROM range(%d)) TO '%s'", n, path))
	}
	fixture.SetParquetNumRows(t, filepath.Join(dir, "hp", "p=0", "f.parquet"), 0)
	e := openEngine(t, dir, engine.Options{})
	for _, tc := range []struct {
		query     string
		want      string
		kept      int
		fromStats bool
	}{
		{"SELECT count(*) FROM hp", "10", 2, false},
		{"SELECT count(*) FROM hp WHERE p = 1", "4", 1, true},  // the Inexact file ruled out by p
		{"SELECT count(*) FROM hp WHERE p = 0", "6", 1, false}, // read, not answered from its footer
		{"SELECT count(*) FROM hp WHERE i > 4", "1", 1, false}, // p=1's statistics rule it out, p=0's cannot
		{"SELECT max(i) FROM hp WHERE p = 1", "3", 1, true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got, plan, err := qryRows(context.Background(), e, tc.query)
			require.NoError(t, err)
			require.Equal(t, [][]string{{tc.want}}, got)
			require.Equal(t, tc.kept, plan.Tables[0].Kept, plan.String())
			require.Equal(t, tc.fromStats, plan.FromStats, plan.String())
		})
	}
}
