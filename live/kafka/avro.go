//go:build duckdb_arrow

package kafka

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// avroDecoder reads messages in Confluent's framing: a zero byte, the
// writer's schema id (4 bytes, big-endian), then one Avro datum. The
// writer's schema comes from the registry, once per id. A record's fields
// fill the columns of the same name (ignoring case); fields the table has
// not are ignored and columns the record has not are NULL, as with JSON.
type avroDecoder struct {
	*rowDecoder
	http *http.Client
	url  string // the registry's URL, without credentials
	user *url.Userinfo

	readers sync.Pool // of *avro.Reader: chunks of a poll decode at once

	mu      sync.Mutex
	schemas map[int32]avro.Schema // ids looked up
	missing map[int32]string      // ids the registry does not have, and why
	maps    map[int32]*fieldMap   // where each id's fields go
}

func newAvroDecoder(rawURL string, schema *arrow.Schema, notNull map[int]bool) (*avroDecoder, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	user := u.User
	u.User = nil
	d := &avroDecoder{http: &http.Client{Timeout: 10 * time.Second}, url: strings.TrimSuffix(u.String(), "/"), user: user,
		schemas: map[int32]avro.Schema{}, missing: map[int32]string{}, maps: map[int32]*fieldMap{}}
	d.rowDecoder = &rowDecoder{schema: schema, notNull: notNull, row: d.row}
	return d, nil
}

// frame splits a message into its schema id and datum.
func frame(value []byte) (int32, []byte, error) {
	if len(value) < 5 || value[0] != 0 {
		return 0, nil, errors.New("not a schema registry Avro message (a zero byte and a 4-byte schema id first)")
	}
	return int32(binary.BigEndian.Uint32(value[1:5])), value[5:], nil
}

// prepare looks up the schemas of recs that were not looked up yet. An id
// the registry answers it does not have, or whose schema is not Avro or
// does not parse, rejects its messages; any other failure (the registry
// down, a timeout, refused credentials, an answer that is not the API's)
// is returned, and the poll is written again later: trouble with the
// registry never rejects a message.
func (d *avroDecoder) prepare(ctx context.Context, recs []*kgo.Record) error {
	want := map[int32]bool{}
	d.mu.Lock()
	for _, r := range recs {
		if id, _, err := frame(r.Value); err == nil && d.schemas[id] == nil && d.missing[id] == "" {
			want[id] = true
		}
	}
	d.mu.Unlock()
	for id := range want {
		s, why, err := d.lookup(ctx, id)
		if err != nil {
			return fmt.Errorf("schema registry %s: schema id %d: %w", d.url, id, err)
		}
		d.mu.Lock()
		if why != "" {
			d.missing[id] = fmt.Sprintf("schema id %d: %s", id, why)
		} else {
			d.schemas[id] = s
		}
		d.mu.Unlock()
	}
	return nil
}

// schemaNotFound is the error code of Confluent's API (and of the
// registries that copy it) for a schema id it does not have.
const schemaNotFound = 40403

// lookup asks the registry for schema id (GET /schemas/ids/{id} of
// Confluent's API). why, if set, is the answer's reason to reject the
// id's messages; err is a failure to get an answer.
func (d *avroDecoder) lookup(ctx context.Context, id int32) (s avro.Schema, why string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/schemas/ids/%d", d.url, id), nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	if d.user != nil {
		pw, _ := d.user.Password()
		req.SetBasicAuth(d.user.Username(), pw)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", err
	}
	var answer struct {
		Schema     *string `json:"schema"`
		SchemaType string  `json:"schemaType"`
		ErrorCode  int     `json:"error_code"`
		Message    string  `json:"message"`
	}
	isAPI := json.Unmarshal(body, &answer) == nil
	switch {
	case resp.StatusCode == http.StatusNotFound && isAPI && answer.ErrorCode == schemaNotFound:
		return nil, "the registry has no such schema", nil
	case resp.StatusCode == http.StatusNotFound:
		// A path the server does not serve: a wrong URL, which must not
		// reject every message.
		return nil, "", fmt.Errorf("404 without the API's error %d: is the URL the API's base (Apicurio: .../apis/ccompat/v6)?", schemaNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("%s %s", resp.Status, answer.Message)
	case !isAPI || answer.Schema == nil:
		return nil, "", errors.New("the answer is not a schema registry's (no schema in it): is the URL the API's base?")
	case answer.SchemaType != "" && !strings.EqualFold(answer.SchemaType, "AVRO"):
		return nil, fmt.Sprintf("a %s schema, not Avro", answer.SchemaType), nil
	}
	s, err = avro.Parse(*answer.Schema)
	if err != nil {
		return nil, fmt.Sprintf("the schema does not parse: %v", err), nil
	}
	return s, "", nil
}

// row appends one message's record, each field straight to its column's
// builder. On an error, columns may have been appended to: build sees
// their lengths differ and builds the batch again without the message.
func (d *avroDecoder) row(b *array.RecordBuilder, value []byte) error {
	id, datum, err := frame(value)
	if err != nil {
		return err
	}
	d.mu.Lock()
	s, why := d.schemas[id], d.missing[id]
	m := d.maps[id]
	d.mu.Unlock()
	if s == nil {
		if why == "" {
			why = fmt.Sprintf("schema id %d was not looked up", id)
		}
		return errors.New(why)
	}
	rec, ok := s.(*avro.RecordSchema)
	if !ok {
		return fmt.Errorf("schema id %d is a %s, not a record", id, s.Type())
	}
	if m == nil {
		m = d.mapping(rec)
		d.mu.Lock()
		d.maps[id] = m
		d.mu.Unlock()
	}
	r, _ := d.readers.Get().(*avro.Reader)
	if r == nil {
		r = avro.NewReader(nil, 0)
	}
	defer d.readers.Put(r)
	r.Reset(datum)
	r.Error = nil // Reset keeps the last message's end (io.EOF)
	for i, f := range rec.Fields() {
		v := readAvro(r, f.Type())
		if r.Error != nil {
			break
		}
		if c := m.cols[i]; c >= 0 {
			if err := appendValue(b.Field(c), v); err != nil {
				return fmt.Errorf("column %s: %w", d.schema.Field(c).Name, err)
			}
		}
	}
	if r.Error != nil {
		if errors.Is(r.Error, io.ErrUnexpectedEOF) {
			return fmt.Errorf("schema id %d: the message ends early", id)
		}
		return fmt.Errorf("schema id %d: %w", id, r.Error)
	}
	if r.Peek(); r.Error == nil {
		return fmt.Errorf("schema id %d: bytes are left after the record", id)
	}
	for _, c := range m.missing {
		b.Field(c).AppendNull()
	}
	return nil
}

// fieldMap says where a writer schema's fields go: cols[i] is field i's
// column (-1: none, or a column an earlier field fills); missing are
// the columns no field fills.
type fieldMap struct {
	cols    []int
	missing []int
}

func (d *avroDecoder) mapping(rec *avro.RecordSchema) *fieldMap {
	m := &fieldMap{}
	filled := make([]bool, d.schema.NumFields())
	for _, f := range rec.Fields() {
		c := d.column(f.Name())
		if c >= 0 && filled[c] {
			c = -1
		}
		if c >= 0 {
			filled[c] = true
		}
		m.cols = append(m.cols, c)
	}
	for c, ok := range filled {
		if !ok {
			m.missing = append(m.missing, c)
		}
	}
	return m
}

// appendValue appends v (as readAvro makes it) to b: the common pairs of
// an Avro type and a column type directly, any other as JSON through the
// builder (which refuses what does not fit, as for JSON messages).
func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Int64Builder:
		switch x := v.(type) {
		case int64:
			b.Append(x)
			return nil
		case int32:
			b.Append(int64(x))
			return nil
		}
	case *array.Int32Builder:
		if x, ok := v.(int32); ok {
			b.Append(x)
			return nil
		}
	case *array.Float64Builder:
		switch x := v.(type) {
		case float64:
			b.Append(x)
			return nil
		case float32:
			b.Append(float64(x))
			return nil
		}
	case *array.Float32Builder:
		if x, ok := v.(float32); ok {
			b.Append(x)
			return nil
		}
	case *array.StringBuilder:
		if x, ok := v.(string); ok {
			b.Append(x)
			return nil
		}
	case *array.BooleanBuilder:
		if x, ok := v.(bool); ok {
			b.Append(x)
			return nil
		}
	case *array.BinaryBuilder:
		if x, ok := v.([]byte); ok {
			b.Append(x)
			return nil
		}
	case *array.TimestampBuilder:
		if x, ok := v.(avroTime); ok {
			b.Append(arrow.Timestamp(inUnit(x.t, b.Type().(*arrow.TimestampType).Unit)))
			return nil
		}
	case *array.Date32Builder:
		if x, ok := v.(avroDate); ok {
			b.Append(arrow.Date32(x.days))
			return nil
		}
	}
	js, err := json.Marshal(forColumn(v, b.Type()))
	if err != nil {
		return err
	}
	one := make([]byte, 0, len(js)+2)
	one = append(append(append(one, '['), js...), ']')
	if b.UnmarshalJSON(one) != nil {
		return fmt.Errorf("%s is not %s", js, b.Type())
	}
	return nil
}

// inUnit is t as a count of unit since the epoch.
func inUnit(t time.Time, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return t.Unix()
	case arrow.Millisecond:
		return t.UnixMilli()
	case arrow.Microsecond:
		return t.UnixMicro()
	}
	return t.UnixNano()
}

// column finds the table's column named name, ignoring case (-1: none).
func (d *avroDecoder) column(name string) int {
	for i, f := range d.schema.Fields() {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// avroTime is an Avro timestamp or date, an avroClock a time of day: each
// becomes what its column takes (see forColumn).
type (
	avroTime  struct{ t time.Time }
	avroDate  struct{ days int32 }
	avroClock struct{ d time.Duration }
)

// readAvro reads one value of schema s: int as int32, long as int64,
// float as float32, bytes and fixed as []byte, decimals as exact decimal
// text, timestamps, dates and times of day as avroTime, avroDate and
// avroClock, records and maps as map[string]any, arrays as []any.
func readAvro(r *avro.Reader, s avro.Schema) any {
	var logical avro.LogicalType
	if ls, ok := s.(avro.LogicalTypeSchema); ok && ls.Logical() != nil {
		logical = ls.Logical().Type()
	}
	switch s.Type() {
	case avro.Null:
		return nil
	case avro.Boolean:
		return r.ReadBool()
	case avro.Int:
		i := r.ReadInt()
		switch logical {
		case avro.Date:
			return avroDate{i}
		case avro.TimeMillis:
			return avroClock{time.Duration(i) * time.Millisecond}
		}
		return i
	case avro.Long:
		i := r.ReadLong()
		switch logical {
		case avro.TimestampMillis, avro.LocalTimestampMillis:
			return avroTime{time.UnixMilli(i).UTC()}
		case avro.TimestampMicros, avro.LocalTimestampMicros:
			return avroTime{time.UnixMicro(i).UTC()}
		case avro.TimeMicros:
			return avroClock{time.Duration(i) * time.Microsecond}
		}
		return i
	case avro.Float:
		return r.ReadFloat()
	case avro.Double:
		return r.ReadDouble()
	case avro.String:
		return r.ReadString()
	case avro.Bytes:
		b := r.ReadBytes()
		if logical == avro.Decimal {
			return decimalText(b, s.(avro.LogicalTypeSchema).Logical().(*avro.DecimalLogicalSchema).Scale())
		}
		return bytes.Clone(b)
	case avro.Fixed:
		b := make([]byte, s.(*avro.FixedSchema).Size())
		r.Read(b)
		if logical == avro.Decimal {
			return decimalText(b, s.(avro.LogicalTypeSchema).Logical().(*avro.DecimalLogicalSchema).Scale())
		}
		return b
	case avro.Enum:
		syms := s.(*avro.EnumSchema).Symbols()
		i := int(r.ReadInt())
		if i < 0 || i >= len(syms) {
			r.ReportError("read", fmt.Sprintf("enum index %d out of range", i))
			return nil
		}
		return syms[i]
	case avro.Record:
		obj := map[string]any{}
		for _, f := range s.(*avro.RecordSchema).Fields() {
			obj[f.Name()] = readAvro(r, f.Type())
		}
		return obj
	case avro.Ref:
		return readAvro(r, s.(*avro.RefSchema).Schema())
	case avro.Array:
		out := []any{}
		items := s.(*avro.ArraySchema).Items()
		r.ReadArrayCB(func(r *avro.Reader) bool {
			out = append(out, readAvro(r, items))
			return r.Error == nil
		})
		return out
	case avro.Map:
		out := map[string]any{}
		values := s.(*avro.MapSchema).Values()
		r.ReadMapCB(func(r *avro.Reader, k string) bool {
			out[k] = readAvro(r, values)
			return r.Error == nil
		})
		return out
	case avro.Union:
		types := s.(*avro.UnionSchema).Types()
		i := int(r.ReadLong())
		if i < 0 || i >= len(types) {
			r.ReportError("read", fmt.Sprintf("union branch %d out of range", i))
			return nil
		}
		return readAvro(r, types[i])
	}
	r.ReportError("read", fmt.Sprintf("unknown Avro type %s", s.Type()))
	return nil
}

// decimalText is an Avro decimal (a big-endian two's-complement unscaled
// value) as exact decimal text.
func decimalText(b []byte, scale int) json.Number {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return json.Number(new(big.Rat).SetFrac(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)).FloatString(scale))
}

// forColumn is v as column type t takes it from JSON: timestamps, dates
// and times of day as numbers in the column's unit (exact, and the same
// instant whatever the column's zone), as text elsewhere; records as
// structs (fields matched ignoring case), maps as key/value lists, and
// so on down. A nil t (a type JSON cannot say more of) leaves v as JSON
// writes it, with times as text.
func forColumn(v any, t arrow.DataType) any {
	switch v := v.(type) {
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case float32:
		return float64(v)
	case map[string]any:
		switch tt := t.(type) {
		case *arrow.StructType:
			out := make(map[string]any, len(v))
			for k, x := range v {
				for _, f := range tt.Fields() {
					if strings.EqualFold(f.Name, k) {
						out[f.Name] = forColumn(x, f.Type)
					}
				}
			}
			return out
		case *arrow.MapType:
			keys := slices.Sorted(maps.Keys(v))
			out := make([]any, len(keys))
			for i, k := range keys {
				out[i] = map[string]any{"key": k, "value": forColumn(v[k], tt.ItemType())}
			}
			return out
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = forColumn(x, nil)
		}
		return out
	case []any:
		var elem arrow.DataType
		if lt, ok := t.(arrow.ListLikeType); ok {
			elem = lt.Elem()
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = forColumn(x, elem)
		}
		return out
	case avroTime:
		if ts, ok := t.(*arrow.TimestampType); ok {
			return json.Number(strconv.FormatInt(inUnit(v.t, ts.Unit), 10))
		}
		if t != nil && t.ID() == arrow.DATE32 {
			days := v.t.Unix() / 86400
			if v.t.Unix() < 0 && v.t.Unix()%86400 != 0 {
				days-- // floor: the day the instant falls in
			}
			return json.Number(strconv.FormatInt(days, 10))
		}
		return v.t.Format("2006-01-02 15:04:05.999999")
	case avroDate:
		if t != nil && t.ID() == arrow.DATE32 {
			return json.Number(strconv.Itoa(int(v.days)))
		}
		return time.Unix(int64(v.days)*86400, 0).UTC().Format("2006-01-02")
	case avroClock:
		switch tt := t.(type) {
		case *arrow.Time64Type:
			if tt.Unit == arrow.Nanosecond {
				return json.Number(strconv.FormatInt(v.d.Nanoseconds(), 10))
			}
			return json.Number(strconv.FormatInt(v.d.Microseconds(), 10))
		case *arrow.Time32Type:
			if tt.Unit == arrow.Second {
				return json.Number(strconv.FormatInt(int64(v.d/time.Second), 10))
			}
			return json.Number(strconv.FormatInt(v.d.Milliseconds(), 10))
		}
		return time.Time{}.Add(v.d).Format("15:04:05.999999")
	}
	return v
}
