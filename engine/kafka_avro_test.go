package engine_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/registry"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/kafkatest"
)

const avroYAML = `tables:
  - name: events
    path: events
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: name, type: VARCHAR}
      - {name: amount, type: "DECIMAL(12,3)"}
      - {name: at, type: TIMESTAMP}
      - {name: seen, type: TIMESTAMPTZ}
      - {name: day, type: DATE}
      - {name: tag, type: VARCHAR}
      - {name: note, type: VARCHAR}
      - {name: payload, type: BLOB}
      - {name: big, type: BIGINT}
      - {name: score, type: DOUBLE}
      - {name: flag, type: BOOLEAN}
      - {name: clock, type: TIME}
      - {name: point, type: "STRUCT(x DOUBLE, label VARCHAR)"}
      - {name: nums, type: "INTEGER[]"}
      - {name: attrs, type: "MAP(VARCHAR, BIGINT)"}
      - {name: hash, type: BLOB}
    writable: {tick: 1h}
    source:
      kafka: {brokers: [%s], topic: events, format: avro, registry: "%s"}
`

// The writer's schemas: v1 has every type; v2 (a later version of the
// producer) drops note and adds a field the table has not.
const (
	eventV1 = `{"type":"record","name":"event","namespace":"qry.test","fields":[
  {"name":"id","type":"long"},
  {"name":"name","type":"string"},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":12,"scale":3}},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"seen","type":{"type":"long","logicalType":"timestamp-micros"}},
  {"name":"day","type":{"type":"int","logicalType":"date"}},
  {"name":"tag","type":{"type":"enum","name":"tag","symbols":["RED","GREEN"]}},
  {"name":"note","type":["null","string"]},
  {"name":"payload","type":"bytes"},
  {"name":"big","type":"long"},
  {"name":"score","type":"float"},
  {"name":"flag","type":"boolean"},
  {"name":"clock","type":{"type":"long","logicalType":"time-micros"}},
  {"name":"point","type":{"type":"record","name":"point","fields":[{"name":"X","type":"double"},{"name":"label","type":"string"}]}},
  {"name":"nums","type":{"type":"array","items":"int"}},
  {"name":"attrs","type":{"type":"map","values":"long"}},
  {"name":"hash","type":{"type":"fixed","name":"hash4","size":4}}]}`
	eventV2 = `{"type":"record","name":"event","namespace":"qry.test","fields":[
  {"name":"ID","type":"long"},
  {"name":"name","type":"string"},
  {"name":"region","type":"string"}]}`
	// noID lacks the NOT NULL column id.
	noID = `{"type":"record","name":"anon","fields":[{"name":"name","type":"string"}]}`
)

// event is one produced v1 message, and the row it must become.
type event struct {
	id     int64
	name   string
	amount *big.Rat
	at     time.Time
	seen   time.Time
	day    time.Time
	tag    string
	note   *string
	bytes  []byte
	big    int64
	score  float32
	flag   bool
	clock  time.Duration
	x      float64
	label  string
	nums   []int
	attrs  map[string]int64
	hash   [4]byte
}

func (e event) avro() map[string]any {
	var note any
	if e.note != nil {
		note = *e.note
	}
	return map[string]any{"id": e.id, "name": e.name, "amount": e.amount, "at": e.at, "seen": e.seen, "day": e.day,
		"tag": e.tag, "note": note, "payload": e.bytes, "big": e.big, "score": e.score, "flag": e.flag,
		"clock": e.clock, "point": map[string]any{"X": e.x, "label": e.label}, "nums": e.nums, "attrs": e.attrs, "hash": e.hash}
}

// row is the row as the test's query prints it.
func (e event) row() string {
	note := "NULL"
	if e.note != nil {
		note = *e.note
	}
	return strings.Join([]string{fmt.Sprint(e.id), e.name, e.amount.FloatString(3), e.at.UTC().Format("2006-01-02 15:04:05.000"),
		fmt.Sprint(e.seen.UnixMicro()), e.day.Format("2006-01-02"), e.tag, note, strings.ToUpper(hex.EncodeToString(e.bytes)),
		fmt.Sprint(e.big), fmt.Sprint(int64(e.score * 4)), fmt.Sprint(e.flag),
		time.Time{}.Add(e.clock).Format("15:04:05.000000"), fmt.Sprintf("%g/%s", e.x, e.label),
		strings.Trim(strings.ReplaceAll(fmt.Sprint(e.nums), " ", ","), "[]"), attrsText(e.attrs),
		strings.ToUpper(hex.EncodeToString(e.hash[:]))}, "|")
}

// attrsText is a map as the test's query prints it: k=v by key.
func attrsText(m map[string]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, ",")
}

const eventQuery = `SELECT id, name, amount::VARCHAR, strftime("at", '%Y-%m-%d %H:%M:%S.%g'), epoch_us(seen), "day"::VARCHAR,
  tag, coalesce(note, 'NULL'), hex(payload), big, (score * 4)::BIGINT, flag,
  strftime(DATE '2000-01-01' + clock, '%H:%M:%S.%f'), point.x::VARCHAR || '/' || point.label, array_to_string(nums, ','),
  array_to_string(list_transform(list_sort(map_entries(attrs)), e -> e.key || '=' || e.value), ','), hex(hash)
  FROM events ORDER BY id`

func framed(id int, datum []byte) []byte {
	out := make([]byte, 5, 5+len(datum))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, datum...)
}

// TestKafkaAvro feeds a table from Avro messages in Confluent's framing,
// with their schemas in a real registry (Apicurio's, over its
// Confluent-compatible API): every type a table column takes, two writer
// schemas in one topic, and each kind of bad message in the rejected
// table with its reason.
func TestKafkaAvro(t *testing.T) {
	broker := kafkatest.Start(t)
	reg := kafkatest.StartRegistry(t)
	broker.CreateTopic(t, "events", 2)
	cl := broker.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))

	rc, err := registry.NewClient(reg.URL)
	require.NoError(t, err)
	ctx := context.Background()
	id1, s1, err := rc.CreateSchema(ctx, "events-value", eventV1)
	require.NoError(t, err)
	id2, s2, err := rc.CreateSchema(ctx, "events2-value", eventV2)
	require.NoError(t, err)
	id3, s3, err := rc.CreateSchema(ctx, "anon-value", noID)
	require.NoError(t, err)
	id4, _, err := rc.CreateSchema(ctx, "text-value", `"string"`)
	require.NoError(t, err)
	// Fields in another order than the columns, and one that does not
	// fit its column after one that did.
	id5, s5, err := rc.CreateSchema(ctx, "wrong-value", `{"type":"record","name":"wrong","fields":[
	  {"name":"flag","type":"boolean"},{"name":"id","type":"string"}]}`)
	require.NoError(t, err)

	var events []event
	var values [][]byte
	base := time.Date(2024, 2, 29, 23, 59, 58, 0, time.UTC)
	for i := range 40 {
		e := event{
			id: int64(i), name: fmt.Sprintf("n%d", i%5),
			amount: big.NewRat(int64(i*1000+7)*int64(1-2*(i%2)), 1000),
			at:     base.Add(time.Duration(i) * 1001 * time.Millisecond),
			seen:   base.Add(time.Duration(i)*time.Hour + 123456*time.Microsecond),
			day:    time.Date(1969, 12, 25+i, 0, 0, 0, 0, time.UTC),
			tag:    []string{"RED", "GREEN"}[i%2],
			bytes:  []byte{byte(i), 0, 0xff},
			big:    1<<62 + int64(i),
			score:  float32(i) / 4,
			flag:   i%3 == 0,
			clock:  time.Duration(i)*time.Hour/2 + 1234567*time.Microsecond,
			x:      float64(i) + 0.5, label: fmt.Sprintf("p%d", i),
			nums:  []int{i, -i, 7},
			attrs: map[string]int64{"b": int64(i), "a": -1 << 40},
			hash:  [4]byte{0xde, 0xad, byte(i), 0},
		}
		if i%4 != 0 {
			note := fmt.Sprintf("note %d, \"quoted\"", i)
			e.note = &note
		}
		datum, err := avro.Marshal(s1, e.avro())
		require.NoError(t, err)
		events = append(events, e)
		values = append(values, framed(id1, datum))
	}
	// v2 messages: note is NULL, region is ignored, the rest of v1's
	// columns are NULL too.
	for i := 100; i < 103; i++ {
		datum, err := avro.Marshal(s2, map[string]any{"ID": int64(i), "name": "v2", "region": "eu"})
		require.NoError(t, err)
		values = append(values, framed(id2, datum))
	}
	good, err := avro.Marshal(s1, events[1].avro())
	require.NoError(t, err)
	anon, err := avro.Marshal(s3, map[string]any{"name": "x"})
	require.NoError(t, err)
	text, err := avro.Marshal(avro.MustParse(`"string"`), "just text")
	require.NoError(t, err)
	wrong, err := avro.Marshal(s5, map[string]any{"flag": true, "id": "seven"})
	require.NoError(t, err)
	bad := [][]byte{
		[]byte(`{"id": 1}`),
		framed(99999, good),
		framed(id1, good[:len(good)-3]),
		framed(id1, append(append([]byte{}, good...), 1, 2)),
		framed(id3, anon),
		framed(id4, text),
		framed(id5, wrong),
	}
	wantErrs := []string{
		"not a schema registry Avro message",
		"schema id 99999: the registry has no such schema",
		fmt.Sprintf("schema id %d: the message ends early", id1),
		fmt.Sprintf("schema id %d: bytes are left after the record", id1),
		"column id is NOT NULL, and it is missing or null",
		fmt.Sprintf("schema id %d is a string, not a record", id4),
		`column id: "seven" is not int64`,
	}
	all := append(append([][]byte{}, values...), bad...)
	landed := produce(t, cl, "events", 2, all)

	dir := t.TempDir()
	cfg, err := catalog.ParseConfig(fmt.Appendf(nil, avroYAML, broker.Addr, reg.URL))
	require.NoError(t, err)
	cfg.Resolve(dir)
	cat, err := catalog.Open(ctx, catalog.Options{Config: cfg, CacheDir: filepath.Join(dir, "cache")})
	require.NoError(t, err)
	eng, err := engine.Open(ctx, cat, engine.Options{Sandbox: true, SandboxDir: filepath.Join(dir, "cache"), Sources: true})
	require.NoError(t, err)
	defer eng.Close()

	waitRows(t, eng, "SELECT (SELECT count(*) FROM events) || '/' || (SELECT count(*) FROM events_rejected)",
		fmt.Sprintf("%d/%d", len(values), len(bad)))

	var got []string
	for _, r := range lq(t, eng, eventQuery+" LIMIT 40") {
		got = append(got, strings.Join(r, "|"))
	}
	var wantRows []string
	for _, e := range events {
		wantRows = append(wantRows, e.row())
	}
	require.Equal(t, wantRows, got)
	require.Equal(t, [][]string{{"100", "v2", "NULL"}, {"101", "v2", "NULL"}, {"102", "v2", "NULL"}},
		lq(t, eng, "SELECT id, name, coalesce(amount::VARCHAR, note, 'NULL') FROM events WHERE id >= 100 ORDER BY id"))

	// Each bad message once, where it landed, whole, with its reason.
	type place struct {
		partition int32
		offset    int64
	}
	wantRej := map[place][2]string{}
	for _, p := range landed { // in no particular order
		for i, b := range bad {
			if p.value == string(b) {
				wantRej[place{p.partition, p.offset}] = [2]string{strings.ToUpper(hex.EncodeToString(b)), wantErrs[i]}
			}
		}
	}
	require.Len(t, wantRej, len(bad))
	rows := lq(t, eng, `SELECT partition, "offset", hex(value), error FROM events_rejected ORDER BY partition, "offset"`)
	require.Len(t, rows, len(bad))
	for _, r := range rows {
		var p place
		_, err := fmt.Sscan(r[0]+" "+r[1], &p.partition, &p.offset)
		require.NoError(t, err)
		w, ok := wantRej[p]
		require.True(t, ok, "rejected %v was not a bad message", p)
		require.Equal(t, w[0], r[2], "value of the message at %v", p)
		require.Contains(t, r[3], w[1], "reason for the message at %v", p)
		delete(wantRej, p)
	}
}
