package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

const readingsYAML = `tables:
  - name: readings
    path: readings
    columns:
      - {name: sensor, type: VARCHAR, not_null: true}
      - {name: at, type: TIMESTAMP}
      - {name: value, type: DOUBLE}
      - {name: day, type: DATE}
    writable:
      tick: 1h
      partition_by: [day]
`

// openWritable opens an engine over a writable table in dir (sandboxed, as
// qry serve runs it).
func openWritable(t *testing.T, dir string) *engine.Engine {
	t.Helper()
	return openWritableWith(t, dir, engine.Options{})
}

// openWritableWith is openWritable with more engine options.
func openWritableWith(t *testing.T, dir string, opts engine.Options) *engine.Engine {
	t.Helper()
	cfg, err := catalog.ParseConfig([]byte(readingsYAML))
	require.NoError(t, err)
	cfg.Resolve(dir)
	cat, err := catalog.Open(context.Background(), catalog.Options{Config: cfg, CacheDir: filepath.Join(dir, "cache")})
	require.NoError(t, err)
	opts.Sandbox = true
	opts.SandboxDir = filepath.Join(dir, "cache")
	eng, err := engine.Open(context.Background(), cat, opts)
	require.NoError(t, err)
	return eng
}

func closeEngine(eng *engine.Engine) {
	eng.Close()
	eng.Catalog().Close()
}

var readingsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "sensor", Type: arrow.BinaryTypes.String},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
}, nil)

// batch makes n readings numbered from first: sensor s<i%3>, value i,
// day 2024-05-01 + i%2, every 7th value NULL.
func batch(first, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, readingsSchema)
	defer b.Release()
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := first; i < first+n; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("s%d", i%3))
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration(i) * time.Second).UnixMicro()))
		if i%7 == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.Float64Builder).Append(float64(i))
		}
		b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(base.AddDate(0, 0, i%2)))
	}
	return b.NewRecordBatch()
}

// expect is the independent answer for rows 0..n-1: count, count of
// values, sum of values.
func expect(n int) []string {
	cnt, sum := 0, 0
	for i := range n {
		if i%7 != 0 {
			cnt++
			sum += i
		}
	}
	return []string{fmt.Sprint(n), fmt.Sprint(cnt), fixture.Float(float64(sum))}
}

func count(t *testing.T, eng *engine.Engine) []string {
	t.Helper()
	rows := lq(t, eng, "SELECT count(*), count(value), sum(value)::DOUBLE FROM readings")
	return rows[0]
}

func lq(t *testing.T, eng *engine.Engine, q string, args ...any) [][]string {
	t.Helper()
	r, err := eng.Query(context.Background(), q, args...)
	require.NoError(t, err)
	defer r.Release()
	return fixture.ArrowRows(t, r)
}

func appendRows(t *testing.T, eng *engine.Engine, first, n int) {
	t.Helper()
	b := batch(first, n)
	defer b.Release()
	got, err := eng.Append(context.Background(), "readings", []arrow.RecordBatch{b})
	require.NoError(t, err)
	require.Equal(t, int64(n), got)
}

func TestLiveWritesTickAndRestart(t *testing.T) {
	dir := t.TempDir()
	eng := openWritable(t, dir)
	require.Equal(t, []string{"0", "0", "NULL"}, count(t, eng))

	appendRows(t, eng, 0, 1000)
	appendRows(t, eng, 1000, 500)
	require.Equal(t, expect(1500), count(t, eng))

	// A tick moves the rows to Parquet under day= directories.
	require.NoError(t, eng.Tick(context.Background(), "readings"))
	files, _ := filepath.Glob(filepath.Join(dir, "readings", "day=*", "*.parquet"))
	require.Len(t, files, 2)
	require.Equal(t, expect(1500), count(t, eng))
	db := fixture.DB(t)
	raw := fixture.Rows(t, db, "SELECT count(*), count(value), sum(value)::DOUBLE FROM read_parquet('"+filepath.Join(dir, "readings", "*", "*.parquet")+"', hive_partitioning=true)")
	require.Equal(t, expect(1500), raw[0], "the archive alone holds them all")

	// Pruning still sees live rows: one day's files, plus the live tier.
	appendRows(t, eng, 1500, 100)
	perDay := lq(t, eng, "SELECT day, count(*) FROM readings WHERE day = DATE '2024-05-02' GROUP BY day")
	require.Equal(t, [][]string{{"2024-05-02", "800"}}, perDay)

	// An INSERT with parameters, and one with a query as its source.
	n, err := eng.Exec(context.Background(), "INSERT INTO readings (sensor, value, day) VALUES ($1, $2, $3)",
		[]any{"s0", 1600.0, "2024-05-01"}, []any{"s1", 1601.0, "2024-05-02"})
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	n, err = eng.Exec(context.Background(), "INSERT INTO readings SELECT 's2', NULL, v, DATE '2024-05-01' FROM (VALUES (1602.0), (1603.0)) t(v)")
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	require.Equal(t, []string{"1604", fmt.Sprint(mustInt(expect(1600)[1]) + 4), fixture.Float(mustFloat(expect(1600)[2]) + 1600 + 1601 + 1602 + 1603)}, count(t, eng))
	before := count(t, eng)

	// Restart: live rows come back from the log, archived ones from the
	// files, none twice.
	closeEngine(eng)
	eng = openWritable(t, dir)
	require.Equal(t, before, count(t, eng))
	require.NoError(t, eng.Tick(context.Background(), "readings"))
	require.Equal(t, before, count(t, eng))
	closeEngine(eng)
	eng = openWritable(t, dir)
	defer closeEngine(eng)
	require.Equal(t, before, count(t, eng))
	segs, _ := filepath.Glob(filepath.Join(dir, "readings", engine.WALDirName, "*.wal"))
	for _, s := range segs {
		st, _ := os.Stat(s)
		require.Zero(t, st.Size(), "archived records are gone from the log: %s", s)
	}
}

func mustInt(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}

func mustFloat(s string) float64 {
	var f float64
	_, _ = fmt.Sscan(s, &f)
	return f
}

func TestBadWritesWriteNothing(t *testing.T) {
	eng := openWritable(t, t.TempDir())
	defer closeEngine(eng)
	appendRows(t, eng, 0, 10)
	good := batch(10, 5)
	defer good.Release()

	mk := func(fields []arrow.Field, fill func(b *array.RecordBuilder)) arrow.RecordBatch {
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
		defer b.Release()
		fill(b)
		return b.NewRecordBatch()
	}
	unknown := mk([]arrow.Field{{Name: "sensor", Type: arrow.BinaryTypes.String}, {Name: "colour", Type: arrow.BinaryTypes.String}}, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("x")
		b.Field(1).(*array.StringBuilder).Append("red")
	})
	wrongType := mk([]arrow.Field{{Name: "sensor", Type: arrow.BinaryTypes.String}, {Name: "value", Type: arrow.BinaryTypes.String}}, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("x")
		b.Field(1).(*array.StringBuilder).Append("12.5")
	})
	nullSensor := mk([]arrow.Field{{Name: "sensor", Type: arrow.BinaryTypes.String, Nullable: true}}, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("x")
		b.Field(0).AppendNull()
	})
	noSensor := mk([]arrow.Field{{Name: "value", Type: arrow.PrimitiveTypes.Float64}}, func(b *array.RecordBuilder) {
		b.Field(0).(*array.Float64Builder).Append(1)
	})
	badDir := mk([]arrow.Field{{Name: "sensor", Type: arrow.BinaryTypes.String}, {Name: "day", Type: arrow.BinaryTypes.String}}, func(b *array.RecordBuilder) {
		b.Field(0).(*array.StringBuilder).Append("x")
		b.Field(1).(*array.StringBuilder).Append("not a date")
	})
	for _, c := range []struct {
		name    string
		batches []arrow.RecordBatch
		want    string
	}{
		{"unknown column", []arrow.RecordBatch{unknown}, `no column "colour"`},
		{"wrong type", []arrow.RecordBatch{wrongType}, "column value is DOUBLE, not utf8"},
		{"NULL in NOT NULL", []arrow.RecordBatch{nullSensor}, "column sensor is NOT NULL, and row 2 holds NULL"},
		{"NOT NULL missing", []arrow.RecordBatch{noSensor}, "sensor is NOT NULL and missing"},
		{"another schema", []arrow.RecordBatch{good, noSensor}, "batch 2 has another schema"},
		{"text for a date", []arrow.RecordBatch{badDir}, "column day is DATE, not utf8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := eng.Append(context.Background(), "readings", c.batches)
			require.ErrorIs(t, err, engine.ErrWrite)
			require.Contains(t, err.Error(), c.want)
			require.Equal(t, expect(10), count(t, eng), "nothing written")
		})
		for _, b := range c.batches {
			if b != good {
				b.Release()
			}
		}
	}
	_, err := eng.Exec(context.Background(), "INSERT INTO readings (sensor, value) VALUES ('a', 1), (NULL, 2)")
	require.ErrorContains(t, err, "readings.sensor")
	require.Equal(t, expect(10), count(t, eng))
	_, err = eng.Exec(context.Background(), `INSERT INTO readings (sensor, "at") VALUES ('a', now()::TIMESTAMP), ('b', 'yesterday-ish')`)
	require.ErrorContains(t, err, "yesterday-ish")
	require.Equal(t, expect(10), count(t, eng))
	_, err = eng.Append(context.Background(), "nope", []arrow.RecordBatch{good})
	require.ErrorIs(t, err, engine.ErrNotWritable)
	_, err = eng.Exec(context.Background(), "INSERT INTO readings SELECT * FROM read_csv('/etc/passwd')")
	require.ErrorIs(t, err, engine.ErrForbidden)
}

// Readers count while a writer appends and ticks and compactions run: a
// count never goes down, never misses a write acknowledged before the
// query, never passes what was written.
func TestConsistentAcrossTicks(t *testing.T) {
	dir := t.TempDir()
	eng := openWritable(t, dir)
	defer closeEngine(eng)
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the writer
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			b := batch(i*50, 50)
			_, err := eng.Append(context.Background(), "readings", []arrow.RecordBatch{b})
			b.Release()
			if err != nil {
				t.Error(err)
				return
			}
			written.Add(50)
		}
	}()
	var ticks, merged atomic.Int64
	wg.Add(1)
	go func() { // the ticker, which compacts every fifth tick
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
			if err := eng.Tick(context.Background(), "readings"); err != nil {
				t.Error(err)
				return
			}
			if ticks.Add(1)%5 == 0 {
				n, err := eng.Compact(context.Background(), "readings")
				if err != nil {
					t.Error(err)
					return
				}
				merged.Add(int64(n))
			}
		}
	}()
	var bad, reads atomic.Int64
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				before := written.Load()
				q := "SELECT count(*) FROM readings"
				if r == 1 {
					q = "SELECT count(*) FROM readings WHERE day = DATE '2024-05-01' OR day = DATE '2024-05-02'"
				}
				rs, err := eng.Query(context.Background(), q)
				if err != nil {
					t.Error(err)
					return
				}
				var n int64
				for rs.Next() {
					n = rs.RecordBatch().Column(0).(*array.Int64).Value(0)
				}
				rs.Release()
				after := written.Load()
				if n < last || n < before || n > after+50 {
					bad.Add(1)
					t.Errorf("count %d: last %d, written between %d and %d", n, last, before, after)
				}
				last = n
				reads.Add(1)
			}
		}()
	}
	// Run until enough happened, however slow the machine: ticks,
	// compactions, and reads across them.
	deadline := time.Now().Add(3 * time.Minute)
	for (ticks.Load() < 10 || merged.Load() == 0 || reads.Load() < 60) && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	require.Zero(t, bad.Load())
	require.GreaterOrEqual(t, ticks.Load(), int64(5), "ticks happened")
	require.Positive(t, merged.Load(), "compactions happened")
	if got := count(t, eng)[0]; got != fmt.Sprint(written.Load()) {
		db := fixture.DB(t)
		t.Log(fixture.Rows(t, db, "SELECT filename, count(*) FROM read_parquet('"+filepath.Join(dir, "readings", "*", "*.parquet")+"', filename=true) GROUP BY ALL HAVING count(*) <> 25 ORDER BY 1"))
		t.Log(fixture.Rows(t, db, "SELECT \"at\", count(*), list(filename) FROM read_parquet('"+filepath.Join(dir, "readings", "*", "*.parquet")+"', filename=true) GROUP BY ALL HAVING count(*) > 1 ORDER BY 1 LIMIT 3"))
		t.Log(lq(t, eng, "SELECT \"at\", count(*) FROM readings GROUP BY ALL HAVING count(*) > 1 ORDER BY 1 LIMIT 3"))
	}
	require.Equal(t, fmt.Sprint(written.Load()), count(t, eng)[0])
}

// A second engine over the same directory (a qry shell beside the server)
// reads the archive only: it neither replays the other's log nor writes,
// ticks or compacts; once the writer is gone, the next one takes over.
func TestSecondWriterOnlyReads(t *testing.T) {
	dir := t.TempDir()
	owner := openWritable(t, dir)
	appendRows(t, owner, 0, 300)
	require.NoError(t, owner.Tick(context.Background(), "readings"))
	appendRows(t, owner, 300, 200) // live in the owner only

	wals := func() []string {
		segs, err := filepath.Glob(filepath.Join(dir, "readings", engine.WALDirName, "*.wal"))
		require.NoError(t, err)
		return segs
	}
	before := wals()
	other := openWritable(t, dir)
	require.Equal(t, before, wals(), "the reader made no log segment")
	require.Equal(t, expect(300), count(t, other), "the archive, not the owner's live rows")
	b := batch(1000, 5)
	defer b.Release()
	_, err := other.Append(context.Background(), "readings", []arrow.RecordBatch{b})
	require.ErrorIs(t, err, engine.ErrOtherWriter)
	_, err = other.Exec(context.Background(), "INSERT INTO readings (sensor) VALUES ('x')")
	require.ErrorIs(t, err, engine.ErrOtherWriter)
	require.ErrorIs(t, other.Tick(context.Background(), "readings"), engine.ErrOtherWriter)
	_, err = other.Subscribe(context.Background(), "SELECT * FROM readings", engine.SubscribeOptions{})
	require.ErrorIs(t, err, engine.ErrOtherWriter, "no write would reach a subscription here")
	require.Equal(t, before, wals())

	// The owner goes on as if alone.
	appendRows(t, owner, 500, 100)
	require.NoError(t, owner.Tick(context.Background(), "readings"))
	require.Equal(t, expect(600), count(t, owner))
	closeEngine(other)
	closeEngine(owner)

	next := openWritable(t, dir)
	defer closeEngine(next)
	appendRows(t, next, 600, 10)
	require.Equal(t, expect(610), count(t, next))
}

// Outside the sandbox (the CLI, the shell), an INSERT into a session's own
// table is DuckDB's business; one into a writable table is a write.
func TestInsertThroughQuery(t *testing.T) {
	dir := t.TempDir()
	cfg, err := catalog.ParseConfig([]byte(readingsYAML))
	require.NoError(t, err)
	cfg.Resolve(dir)
	cat, err := catalog.Open(context.Background(), catalog.Options{Config: cfg, CacheDir: filepath.Join(dir, "cache")})
	require.NoError(t, err)
	eng, err := engine.Open(context.Background(), cat, engine.Options{})
	require.NoError(t, err)
	defer closeEngine(eng)
	lq(t, eng, "CREATE TABLE mine (x INTEGER)")
	require.Equal(t, [][]string{{"2"}}, lq(t, eng, "INSERT INTO mine VALUES (1), (2)"))
	require.Equal(t, [][]string{{"2"}}, lq(t, eng, "SELECT count(*) FROM mine"))
	require.Equal(t, [][]string{{"1"}}, lq(t, eng, "INSERT INTO readings (sensor, value) VALUES (?, ?)", "s9", 9.5))
	require.Equal(t, [][]string{{"s9", "9.5"}}, lq(t, eng, "SELECT sensor, value FROM readings"))
}
