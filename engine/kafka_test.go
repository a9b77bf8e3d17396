package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/kafkatest"
)

const kafkaYAML = `tables:
  - name: clicks
    path: clicks
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: user, type: VARCHAR}
      - {name: amount, type: DOUBLE}
    writable: {tick: 1h}
    source:
      kafka: {brokers: [%[1]s], topic: clicks}
  - name: lines
    path: lines
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: user, type: VARCHAR}
      - {name: amount, type: DOUBLE}
    writable: {tick: 1h}
    source:
      kafka: {brokers: [%[1]s], topic: lines, format: csv}
  - name: batches
    path: batches
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: user, type: VARCHAR}
      - {name: amount, type: DOUBLE}
    writable: {tick: 1h}
    source:
      kafka: {brokers: [%[1]s], topic: batches, format: arrow}
`

func openKafka(t *testing.T, dir, brokers string) *engine.Engine {
	t.Helper()
	return openKafkaWith(t, dir, brokers, true)
}

// openKafkaWith opens the Kafka-fed tables, their sources started or not.
func openKafkaWith(t *testing.T, dir, brokers string, sources bool) *engine.Engine {
	t.Helper()
	cfg, err := catalog.ParseConfig(fmt.Appendf(nil, kafkaYAML, brokers))
	require.NoError(t, err)
	cfg.Resolve(dir)
	cat, err := catalog.Open(context.Background(), catalog.Options{Config: cfg, CacheDir: filepath.Join(dir, "cache")})
	require.NoError(t, err)
	eng, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, SandboxDir: filepath.Join(dir, "cache"), Sources: sources})
	require.NoError(t, err)
	return eng
}

// click is one produced row, as the table should hold it.
type click struct {
	id     int
	user   string
	amount float64
}

// row is as rowsOf reads it (amounts are halves: ten times one is whole).
func (c click) row() string { return fmt.Sprintf("%d|%s|%d", c.id, c.user, int(c.amount*10)) }

func clicksFrom(first, n int) []click {
	out := make([]click, n)
	for i := range out {
		id := first + i
		out[i] = click{id, fmt.Sprintf("u%d", id%7), float64(id) * 1.5}
	}
	return out
}

// produced is a message sent, where it landed.
type produced struct {
	partition int32
	offset    int64
	value     string
}

// produce sends values to topic, message i to partition i%partitions, and
// returns where they landed (in no particular order).
func produce(t *testing.T, cl *kgo.Client, topic string, partitions int32, values [][]byte) []produced {
	t.Helper()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Partition: int32(i) % partitions, Value: v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := cl.ProduceSync(ctx, recs...)
	require.NoError(t, res.FirstErr())
	out := make([]produced, len(values))
	for i, r := range res {
		out[i] = produced{r.Record.Partition, r.Record.Offset, string(r.Record.Value)}
	}
	return out
}

func jsonClicks(cs []click) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = fmt.Appendf(nil, `{"id": %d, "user": %q, "amount": %g, "extra": [1, 2]}`, c.id, c.user, c.amount)
	}
	return out
}

func csvClicks(cs []click) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = fmt.Appendf(nil, "%d,%s,%g", c.id, c.user, c.amount)
	}
	return out
}

// arrowClicks makes one IPC stream per 10 clicks, with the columns in
// another order and id as INT32 (the table casts them).
func arrowClicks(t *testing.T, cs []click) [][]byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "ID", Type: arrow.PrimitiveTypes.Int32},
		{Name: "user", Type: arrow.BinaryTypes.String},
	}, nil)
	var out [][]byte
	for start := 0; start < len(cs); start += 10 {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for _, c := range cs[start:min(start+10, len(cs))] {
			b.Field(0).(*array.Float64Builder).Append(c.amount)
			b.Field(1).(*array.Int32Builder).Append(int32(c.id))
			b.Field(2).(*array.StringBuilder).Append(c.user)
		}
		rec := b.NewRecordBatch()
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
		require.NoError(t, w.Write(rec))
		require.NoError(t, w.Close())
		rec.Release()
		b.Release()
		out = append(out, buf.Bytes())
	}
	return out
}

// waitRows waits (up to 2 minutes) until q answers want.
func waitRows(t *testing.T, eng *engine.Engine, q string, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var got string
	for time.Now().Before(deadline) {
		got = lq(t, eng, q)[0][0]
		if got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: %s after 2 minutes, want %s (sources: %+v)", q, got, want, eng.SourceStats())
}

func rowsOf(t *testing.T, eng *engine.Engine, table string) []string {
	t.Helper()
	var out []string
	for _, r := range lq(t, eng, "SELECT id, user, (amount * 10)::BIGINT FROM "+table+" ORDER BY id") {
		out = append(out, r[0]+"|"+r[1]+"|"+r[2])
	}
	return out
}

func want(cs ...[]click) []string {
	var out []string
	for _, c := range cs {
		for _, x := range c {
			out = append(out, x.row())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i][:bytes.IndexByte([]byte(out[i]), '|')])
		b, _ := strconv.Atoi(out[j][:bytes.IndexByte([]byte(out[j]), '|')])
		return a < b
	})
	return out
}

// rejectedOf is a rejected table's (partition, offset, value), in order.
func rejectedOf(t *testing.T, eng *engine.Engine, table string) ([]produced, []string) {
	t.Helper()
	var got []produced
	var errs []string
	for _, r := range lq(t, eng, `SELECT partition, "offset", decode(value), error FROM `+table+` ORDER BY partition, "offset"`) {
		p, _ := strconv.Atoi(r[0])
		o, _ := strconv.ParseInt(r[1], 10, 64)
		got = append(got, produced{int32(p), o, r[2]})
		errs = append(errs, r[3])
	}
	return got, errs
}

func sortProduced(ps []produced) []produced {
	out := append([]produced{}, ps...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].partition != out[j].partition {
			return out[i].partition < out[j].partition
		}
		return out[i].offset < out[j].offset
	})
	return out
}

// TestKafkaSource feeds three tables (JSON, CSV and Arrow messages) from
// a real broker: every good message once, every bad one in the rejected
// table with its place and reason, across a clean restart, messages sent
// while qry was down, a broker restart and a partition added.
func TestKafkaSource(t *testing.T) {
	broker := kafkatest.Start(t)
	for _, topic := range []string{"clicks", "lines", "batches"} {
		broker.CreateTopic(t, topic, 3)
	}
	cl := broker.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	dir := t.TempDir()

	first := clicksFrom(0, 300)
	produce(t, cl, "clicks", 3, jsonClicks(first))
	bad := produce(t, cl, "clicks", 3, [][]byte{
		[]byte("not json"),
		[]byte(`{"id": "abc", "user": "x"}`),
		[]byte(`{"user": "no id"}`),
		[]byte(`{"id": 5} {"id": 6}`),
		[]byte(`[1, 2]`),
		{},
	})
	produce(t, cl, "lines", 3, csvClicks(first))
	badLines := produce(t, cl, "lines", 3, [][]byte{
		[]byte("1,2"),
		[]byte("x,u,1"),
		[]byte(",nobody,1"),
		[]byte("7,u7,1\n8,u8"), // the second line is short: the whole message goes
	})
	produce(t, cl, "batches", 3, arrowClicks(t, first))
	badBatches := produce(t, cl, "batches", 3, [][]byte{[]byte("not arrow")})

	// Without Sources (a one-shot qry query), the topic is not read.
	quiet := openKafkaWith(t, dir, broker.Addr, false)
	require.Empty(t, quiet.SourceStats())
	require.Equal(t, "0", lq(t, quiet, "SELECT count(*) FROM clicks")[0][0])
	closeEngine(quiet)

	eng := openKafka(t, dir, broker.Addr)
	waitRows(t, eng, "SELECT count(*) FROM clicks", "300")
	waitRows(t, eng, "SELECT count(*) FROM clicks_rejected", strconv.Itoa(len(bad)))
	waitRows(t, eng, "SELECT count(*) FROM lines", "300")
	waitRows(t, eng, "SELECT count(*) FROM lines_rejected", strconv.Itoa(len(badLines)))
	waitRows(t, eng, "SELECT count(*) FROM batches", "300")
	waitRows(t, eng, "SELECT count(*) FROM batches_rejected", "1")
	for _, table := range []string{"clicks", "lines", "batches"} {
		require.Equal(t, want(first), rowsOf(t, eng, table), table)
	}
	gotBad, errs := rejectedOf(t, eng, "clicks_rejected")
	require.Equal(t, sortProduced(bad), gotBad)
	byValue := map[string]string{}
	for i, p := range gotBad {
		byValue[p.value] = errs[i]
	}
	require.Contains(t, byValue[`{"user": "no id"}`], "id")
	require.Contains(t, byValue[`{"user": "no id"}`], "NOT NULL")
	require.Contains(t, byValue[""], "empty")
	gotLines, _ := rejectedOf(t, eng, "lines_rejected")
	require.Equal(t, sortProduced(badLines), gotLines)
	gotBatches, _ := rejectedOf(t, eng, "batches_rejected")
	require.Equal(t, sortProduced(badBatches), gotBatches)

	// Part archived, part live; more messages; then a clean restart with
	// messages sent while qry is down.
	require.NoError(t, eng.Tick(context.Background(), "clicks"))
	second := clicksFrom(300, 300)
	produce(t, cl, "clicks", 3, jsonClicks(second))
	waitRows(t, eng, "SELECT count(*) FROM clicks", "600")
	closeEngine(eng)
	third := clicksFrom(600, 300)
	produce(t, cl, "clicks", 3, jsonClicks(third))
	eng = openKafka(t, dir, broker.Addr)
	defer closeEngine(eng)
	waitRows(t, eng, "SELECT count(*) FROM clicks", "900")
	require.Equal(t, want(first, second, third), rowsOf(t, eng, "clicks"))
	gotBad, _ = rejectedOf(t, eng, "clicks_rejected")
	require.Equal(t, sortProduced(bad), gotBad, "no message rejected twice")

	// The broker goes down and comes back.
	broker.Stop()
	require.NoError(t, broker.Restart())
	fourth := clicksFrom(900, 300)
	produce(t, cl, "clicks", 3, jsonClicks(fourth))
	waitRows(t, eng, "SELECT count(*) FROM clicks", "1200")

	// A partition added to the topic is read too.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm := broker.Admin(t)
	_, err := adm.CreatePartitions(ctx, 1, "clicks")
	require.NoError(t, err)
	for {
		topics, err := adm.ListTopics(ctx, "clicks")
		require.NoError(t, err)
		if len(topics["clicks"].Partitions) == 4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	fifth := clicksFrom(1200, 40)
	landed := produce(t, broker.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner())), "clicks", 4, jsonClicks(fifth))
	require.True(t, slices.ContainsFunc(landed, func(p produced) bool { return p.partition == 3 }))
	waitRows(t, eng, "SELECT count(*) FROM clicks", "1240")
	require.Equal(t, want(first, second, third, fourth, fifth), rowsOf(t, eng, "clicks"))

	// Metrics: rows since this start, rejections none since, no lag.
	deadline := time.Now().Add(time.Minute)
	for {
		var st *struct{ rows, rejected, lag int64 }
		for _, s := range eng.SourceStats() {
			if s.Table == "clicks" {
				st = &struct{ rows, rejected, lag int64 }{s.Rows, s.Rejected, 0}
				for _, l := range s.Lag {
					st.lag += l
				}
				require.Len(t, s.Lag, 4)
			}
		}
		require.NotNil(t, st)
		require.Equal(t, int64(640), st.rows)
		require.Equal(t, int64(0), st.rejected)
		if st.lag == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "lag stays %d", st.lag)
		time.Sleep(100 * time.Millisecond)
	}
}
