//go:build duckdb_arrow

package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/live"
)

var tableSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "user", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
}, nil)

var rejectedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "topic", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "partition", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "offset", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	{Name: "key", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "value", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// memSink is a live tier in memory: rows as text, positions merged as the
// tier merges them, and failures to inject.
type memSink struct {
	rows map[string][]string
	pos  map[string]live.Positions
	// fail answers the next append to a table (then is forgotten).
	fail map[string]error
	// refuse makes an append holding this id fail as DuckDB would.
	refuse string
}

func newMemSink() *memSink {
	return &memSink{rows: map[string][]string{}, pos: map[string]live.Positions{}, fail: map[string]error{}}
}

func (m *memSink) AppendAt(_ context.Context, table string, batches []arrow.RecordBatch, pos live.Positions) (int64, error) {
	if err := m.fail[table]; err != nil {
		delete(m.fail, table)
		return 0, err
	}
	var rows []string
	for _, b := range batches {
		for i := range int(b.NumRows()) {
			var cells []string
			for c := range int(b.NumCols()) {
				cells = append(cells, b.Column(c).ValueStr(i))
			}
			rows = append(rows, strings.Join(cells, "|"))
		}
	}
	if m.refuse != "" {
		for _, r := range rows {
			if strings.HasPrefix(r, m.refuse+"|") {
				return 0, fmt.Errorf("%w: table %s: value %s refused", live.ErrWrite, table, m.refuse)
			}
		}
	}
	m.rows[table] = append(m.rows[table], rows...)
	m.pos[table] = m.pos[table].Merge(pos)
	return int64(len(rows)), nil
}

func (m *memSink) Positions(table string) live.Positions { return m.pos[table].Merge(nil) }

func (m *memSink) Schema(table string) (*arrow.Schema, bool) {
	if strings.HasSuffix(table, catalog.RejectedSuffix) {
		return rejectedSchema, true
	}
	return tableSchema, true
}

func (m *memSink) Decl(table string) (string, *catalog.Writable, bool) {
	return table, &catalog.Writable{Columns: []catalog.WritableColumn{{Name: "id", Type: "BIGINT", NotNull: true}, {Name: "user", Type: "VARCHAR"}, {Name: "at", Type: "TIMESTAMP"}}}, true
}

// source is a Source over sink as Start makes it, without a broker.
func source(t *testing.T, sink *memSink, format string) *Source {
	t.Helper()
	dec, err := newDecoder(catalog.KafkaConfig{Format: format}, tableSchema, []string{"id"})
	require.NoError(t, err)
	return &Source{opts: Options{Table: "t", Config: catalog.KafkaConfig{Topic: "tp", Format: format}, Sink: sink},
		rejected: "t" + catalog.RejectedSuffix, log: slog.New(slog.DiscardHandler), dec: dec, schema: tableSchema, rschema: rejectedSchema,
		pos: sink.Positions("t"), rejPos: sink.Positions("t" + catalog.RejectedSuffix)}
}

func records(values ...string) []*kgo.Record {
	out := make([]*kgo.Record, len(values))
	for i, v := range values {
		out[i] = &kgo.Record{Topic: "tp", Partition: int32(i % 2), Offset: int64(i / 2), Value: []byte(v)}
	}
	return out
}

// rejectedRows are a rejected table's rows as "partition/offset: error".
func rejectedRows(sink *memSink) []string {
	var out []string
	for _, r := range sink.rows["t"+catalog.RejectedSuffix] {
		f := strings.Split(r, "|")
		out = append(out, f[1]+"/"+f[2]+": "+f[6])
	}
	return out
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		values       []string
		rows         []string // as memSink writes them
		rejected     []string
	}{
		{"json", "json",
			[]string{`{"id": 1, "user": "a", "at": "2024-05-01T10:00:00"}`, `{"id": 2, "other": true}`, `{"ID": 3, "id": 4}`},
			[]string{"1|a|2024-05-01T10:00:00", "2|(null)|(null)", "4|(null)|(null)"}, nil},
		{"json refused", "json",
			[]string{`{"id": 1}`, `{"id": 1.5e400}`, `{"id": "x"}`, `{"user": "nobody"}`, `{"id": 2} {"id": 3}`, `"text"`, ``, `{"id": 5}`},
			[]string{"1|(null)|(null)", "5|(null)|(null)"},
			[]string{"1/0: ", "0/1: ", "1/1: column id is NOT NULL", "0/2: not one JSON value", "1/2: ", "0/3: empty message"}},
		{"csv", "csv",
			[]string{"1,a,2024-05-01 10:00:00", "2,,", "3,\"b,c\",\n4,d,"},
			[]string{"1|a|2024-05-01T10:00:00", "2|(null)|(null)", "3|b,c|(null)", "4|d|(null)"}, nil},
		{"csv refused", "csv",
			[]string{"1,a", "x,a,", ",a,", "5,e,\n6,f", "7,g,"},
			[]string{"7|g|(null)"},
			[]string{"0/0: ", "1/0: ", "0/1: column id is NOT NULL", "1/1: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := newMemSink()
			s := source(t, sink, tc.format)
			recs := records(tc.values...)
			require.NoError(t, s.write(context.Background(), recs))
			require.ElementsMatch(t, tc.rows, sink.rows["t"])
			got := rejectedRows(sink)
			require.Len(t, got, len(tc.rejected), "%v", got)
			for _, want := range tc.rejected {
				require.True(t, containsPrefix(got, want), "%q not among %q", want, got)
			}
			// The positions are past the last message.
			last := recs[len(recs)-1]
			require.Equal(t, last.Offset+1, sink.pos["t"][key("tp", last.Partition)])
		})
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// TestCrashBetweenRejectAndRows: a restart after the rejected messages
// were written and before the rows were resumes from the table's
// positions, and writes each row once and each rejection once.
func TestCrashBetweenRejectAndRows(t *testing.T) {
	sink := newMemSink()
	// Partition 1 holds a message refused for a NULL, then one that does
	// not parse (found in the other order).
	recs := records(`{"id": 1}`, `{"user": "x"}`, `{"id": 2}`, `bad`, `{"id": 3}`)
	sink.fail["t"] = errors.New("disk full")
	require.Error(t, source(t, sink, "json").write(context.Background(), recs))
	require.Len(t, sink.rows["t"+catalog.RejectedSuffix], 2)
	require.Empty(t, sink.rows["t"])

	// As after a restart: a new source, from the sink's positions, reads
	// the same messages again.
	require.NoError(t, source(t, sink, "json").write(context.Background(), recs))
	require.ElementsMatch(t, []string{"1|(null)|(null)", "2|(null)|(null)", "3|(null)|(null)"}, sink.rows["t"])
	require.Len(t, sink.rows["t"+catalog.RejectedSuffix], 2)

	// And once more: all of it was written.
	require.NoError(t, source(t, sink, "json").write(context.Background(), recs))
	require.Len(t, sink.rows["t"], 3)
	require.Len(t, sink.rows["t"+catalog.RejectedSuffix], 2)
}

// TestRefusedByTable: a value the table refuses (DuckDB's check) rejects
// its message alone; the others are written, and the positions pass them
// all.
func TestRefusedByTable(t *testing.T) {
	sink := newMemSink()
	sink.refuse = "13"
	recs := records(`{"id": 11}`, `{"id": 12}`, `{"id": 13}`, `{"id": 14}`, `{"id": 13}`)
	require.NoError(t, source(t, sink, "json").write(context.Background(), recs))
	require.ElementsMatch(t, []string{"11|(null)|(null)", "12|(null)|(null)", "14|(null)|(null)"}, sink.rows["t"])
	require.ElementsMatch(t, []string{"0/1: table t: value 13 refused", "0/2: table t: value 13 refused"}, rejectedRows(sink))
	require.Equal(t, live.Positions{"tp/0": 3, "tp/1": 2}, sink.pos["t"])
}

func TestArrowDecodeRefusesUnknownColumn(t *testing.T) {
	dec, err := newDecoder(catalog.KafkaConfig{Format: "arrow"}, tableSchema, []string{"id"})
	require.NoError(t, err)
	_, bad := dec.decode(records("not an ipc stream"))
	require.Len(t, bad, 1)
	require.Contains(t, bad[0].err, "not an Arrow IPC stream")
}

// TestDecodeLargePoll: a poll large enough to be decoded in chunks at
// once gives every good message's row once, in order, and every bad one's
// rejection once, wherever they fall among the chunks.
func TestDecodeLargePoll(t *testing.T) {
	const n = 5 * decodeChunk
	var values, wantRows, wantRejected []string
	for i := range n {
		switch {
		case i%97 == 3:
			values = append(values, "{not json")
		case i%101 == 5:
			values = append(values, `{"user": "no id"}`)
		default:
			values = append(values, fmt.Sprintf(`{"id": %d, "user": "u%d"}`, i, i%7))
			wantRows = append(wantRows, fmt.Sprintf("%d|u%d|(null)", i, i%7))
			continue
		}
		wantRejected = append(wantRejected, fmt.Sprintf("%d/%d", i%2, i/2))
	}
	sink := newMemSink()
	recs := records(values...)
	require.NoError(t, source(t, sink, "json").write(context.Background(), recs))
	require.Equal(t, wantRows, sink.rows["t"])
	var got []string
	for _, r := range rejectedRows(sink) {
		got = append(got, r[:strings.Index(r, ":")])
	}
	require.ElementsMatch(t, wantRejected, got)
	require.Equal(t, live.Positions{"tp/0": n / 2, "tp/1": n / 2}, sink.pos["t"])
}
