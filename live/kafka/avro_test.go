//go:build duckdb_arrow

package kafka

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/registry"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/internal/kafkatest"
)

// avroSource is a Source over sink reading Avro through the registry at url.
func avroSource(t *testing.T, sink *memSink, url string) *Source {
	t.Helper()
	cfg := catalog.KafkaConfig{Topic: "tp", Format: "avro", Registry: url}
	dec, err := newDecoder(cfg, tableSchema, []string{"id"})
	require.NoError(t, err)
	return &Source{opts: Options{Table: "t", Config: cfg, Sink: sink},
		rejected: "t" + catalog.RejectedSuffix, log: slog.New(slog.DiscardHandler), dec: dec, schema: tableSchema, rschema: rejectedSchema,
		pos: sink.Positions("t"), rejPos: sink.Positions("t" + catalog.RejectedSuffix)}
}

// TestAvroRegistryDown: while the registry cannot be reached, or the URL
// is not its API's, a poll is not written and nothing is rejected; once
// it answers, the same poll is written whole. Credentials in the URL go as basic auth, not in the path.
func TestAvroRegistryDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://u:p@" + l.Addr().String()
	l.Close() // nothing listens there now

	reg := kafkatest.StartRegistry(t)
	rc, err := registry.NewClient(reg.URL)
	require.NoError(t, err)
	id, schema, err := rc.CreateSchema(context.Background(), "tp-value",
		`{"type":"record","name":"r","fields":[{"name":"id","type":"long"},{"name":"user","type":["null","string"]},
		  {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}]}`)
	require.NoError(t, err)
	var values []string
	at := time.Date(2024, 5, 1, 10, 0, 0, 250e6, time.UTC)
	for i := range 4 {
		datum, err := avro.Marshal(schema, map[string]any{"id": int64(i), "user": fmt.Sprint("u", i), "at": at})
		require.NoError(t, err)
		msg := make([]byte, 5)
		binary.BigEndian.PutUint32(msg[1:], uint32(id))
		values = append(values, string(append(msg, datum...)))
	}
	recs := records(values...)

	sink := newMemSink()
	err = avroSource(t, sink, down).write(context.Background(), recs)
	require.ErrorContains(t, err, "schema registry")
	require.NotContains(t, err.Error(), "u:p@", "the password is not in errors")
	require.Empty(t, sink.rows["t"])
	require.Empty(t, sink.rows["t"+catalog.RejectedSuffix])
	require.Empty(t, sink.pos["t"])

	// A URL that is not the API's (its 404s), or another web server's
	// (a page where the schema should be), rejects nothing either.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>a web page</html>"))
	}))
	defer page.Close()
	for url, why := range map[string]string{
		strings.TrimSuffix(reg.URL, "/apis/ccompat/v6"): "404 without the API's error 40403",
		page.URL: "not a schema registry's",
	} {
		err = avroSource(t, sink, url).write(context.Background(), recs)
		require.ErrorContains(t, err, "schema registry "+url+": ")
		require.ErrorContains(t, err, why)
		require.Empty(t, sink.rows["t"])
		require.Empty(t, sink.rows["t"+catalog.RejectedSuffix])
	}

	require.NoError(t, avroSource(t, sink, reg.URL).write(context.Background(), recs))
	require.ElementsMatch(t, []string{"0|u0|2024-05-01T10:00:00.25", "1|u1|2024-05-01T10:00:00.25",
		"2|u2|2024-05-01T10:00:00.25", "3|u3|2024-05-01T10:00:00.25"}, sink.rows["t"])
	require.Empty(t, sink.rows["t"+catalog.RejectedSuffix])
	require.Equal(t, int64(2), sink.pos["t"][key("tp", 0)])
}

// TestAvroDecimalText: decimals are exact, negative ones too.
func TestAvroDecimalText(t *testing.T) {
	for _, tc := range []struct {
		b     []byte
		scale int
		want  string
	}{
		{[]byte{0x01, 0xe2, 0x40}, 3, "123.456"},
		{[]byte{0xfe, 0x1d, 0xc0}, 3, "-123.456"},
		{[]byte{0xff}, 2, "-0.01"},
		{[]byte{0x00}, 0, "0"},
		{[]byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 4, "236118324143482260.6847"},
	} {
		require.Equal(t, tc.want, string(decimalText(tc.b, tc.scale)), "%x", tc.b)
	}
}
