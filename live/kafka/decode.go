//go:build duckdb_arrow

package kafka

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/qry-dev/qry/catalog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// rejection is a message that did not parse or fit, and why.
type rejection struct {
	rec *kgo.Record
	err string
}

// decoder turns messages into batches of the table's schema (the caller
// releases them), and names the messages it could not.
type decoder interface {
	decode(recs []*kgo.Record) ([]arrow.RecordBatch, []rejection)
}

// preparer is a decoder with work to do before decode that may fail for a
// while (looking up schemas): the poll is then written again later.
type preparer interface {
	prepare(ctx context.Context, recs []*kgo.Record) error
}

func newDecoder(cfg catalog.KafkaConfig, schema *arrow.Schema, notNull []string) (decoder, error) {
	nn := map[int]bool{}
	for _, name := range notNull {
		for _, i := range schema.FieldIndices(name) {
			nn[i] = true
		}
	}
	switch format := cfg.Format; format {
	case "", "json":
		return &rowDecoder{schema: schema, notNull: nn, row: jsonRow}, nil
	case "csv":
		return &rowDecoder{schema: schema, notNull: nn, row: csvRow(schema)}, nil
	case "arrow":
		return &arrowDecoder{schema: schema, notNull: nn}, nil
	case "avro":
		d, err := newAvroDecoder(cfg.Registry, schema, nn)
		if err != nil {
			return nil, err
		}
		return d, nil
	default:
		return nil, fmt.Errorf("format %q is not json, csv, arrow or avro", format)
	}
}

// rowDecoder reads messages that are each one row (json), or rows (csv),
// through an Arrow record builder, whose rows roll back when one fails.
type rowDecoder struct {
	schema  *arrow.Schema
	notNull map[int]bool
	// row appends a message's rows to b.
	row func(b *array.RecordBuilder, value []byte) error
}

// jsonRow appends one JSON object: its keys name columns (exactly, as
// declared); a missing key is NULL and a key the table has not is ignored.
func jsonRow(b *array.RecordBuilder, value []byte) error {
	if !json.Valid(value) {
		return errors.New("not one JSON value")
	}
	return b.UnmarshalJSON(value)
}

// csvRow appends each line of a CSV message: the declared columns in
// order, an empty field NULL.
func csvRow(schema *arrow.Schema) func(b *array.RecordBuilder, value []byte) error {
	n := schema.NumFields()
	return func(b *array.RecordBuilder, value []byte) error {
		r := csv.NewReader(bytes.NewReader(value))
		r.FieldsPerRecord = n
		var obj bytes.Buffer
		for line := 1; ; line++ {
			fields, err := r.Read()
			if errors.Is(err, io.EOF) {
				if line == 1 {
					return errors.New("empty message")
				}
				return nil
			}
			if err != nil {
				return err
			}
			// Through the JSON reader, as text: its rows roll back on error.
			obj.Reset()
			obj.WriteByte('{')
			for i, f := range fields {
				if i > 0 {
					obj.WriteByte(',')
				}
				name, _ := json.Marshal(schema.Field(i).Name)
				obj.Write(name)
				obj.WriteByte(':')
				if f == "" {
					obj.WriteString("null")
					continue
				}
				val, _ := json.Marshal(f)
				obj.Write(val)
			}
			obj.WriteByte('}')
			if err := jsonRow(b, obj.Bytes()); err != nil {
				if line > 1 {
					return fmt.Errorf("line %d: %w", line, err)
				}
				return err
			}
		}
	}
}

// decodeChunk is the fewest messages a goroutine decodes: a large poll
// is cut into chunks decoded at once, one batch each, in order.
const decodeChunk = 1000

func (d *rowDecoder) decode(recs []*kgo.Record) ([]arrow.RecordBatch, []rejection) {
	n := min(runtime.GOMAXPROCS(0), len(recs)/decodeChunk)
	if n < 2 {
		return d.decodeAll(recs)
	}
	batches := make([][]arrow.RecordBatch, n)
	bad := make([][]rejection, n)
	var wg sync.WaitGroup
	for i := range n {
		part := recs[len(recs)*i/n : len(recs)*(i+1)/n]
		wg.Go(func() { batches[i], bad[i] = d.decodeAll(part) })
	}
	wg.Wait()
	return slices.Concat(batches...), slices.Concat(bad...)
}

// decodeAll decodes recs into one batch.
func (d *rowDecoder) decodeAll(recs []*kgo.Record) ([]arrow.RecordBatch, []rejection) {
	var bad []rejection
	for {
		batch, found, again := d.build(recs, bad)
		bad = append(bad, found...)
		if !again {
			return []arrow.RecordBatch{batch}, bad
		}
		// Built again without the messages found (rare: a NOT NULL
		// column left empty, or a CSV message failing after good lines).
		if batch != nil {
			batch.Release()
		}
	}
}

// build builds the rows of recs except the rejected ones. found are
// messages it rejects; again says the batch holds rows of some of them
// and must be built again without them.
func (d *rowDecoder) build(recs []*kgo.Record, rejected []rejection) (arrow.RecordBatch, []rejection, bool) {
	skip := map[*kgo.Record]bool{}
	for _, r := range rejected {
		skip[r.rec] = true
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, d.schema)
	defer b.Release()
	type span struct {
		rec        *kgo.Record
		start, end int
	}
	var spans []span
	var found []rejection
	rows := 0
	for _, r := range recs {
		if skip[r] {
			continue
		}
		if len(r.Value) == 0 {
			found = append(found, rejection{rec: r, err: "empty message"})
			continue
		}
		err := d.row(b, r.Value)
		n := b.Field(0).Len()
		if err != nil {
			found = append(found, rejection{rec: r, err: describe(err)})
			for i := range b.Fields() {
				if b.Field(i).Len() != rows {
					// Earlier lines of a CSV message stay in the builder,
					// or the fields of an Avro record read before the
					// error.
					return nil, found, true
				}
			}
			continue
		}
		spans = append(spans, span{r, rows, n})
		rows = n
	}
	batch := b.NewRecordBatch()
	again := false
	for _, sp := range spans {
		if col, row, ok := d.nullIn(batch, sp.start, sp.end); ok {
			msg := fmt.Sprintf("column %s is NOT NULL, and it is missing or null", d.schema.Field(col).Name)
			if sp.end-sp.start > 1 {
				msg = fmt.Sprintf("line %d: %s", row-sp.start+1, msg)
			}
			found = append(found, rejection{rec: sp.rec, err: msg})
			again = true
		}
	}
	return batch, found, again
}

// nullIn finds a NULL in a NOT NULL column among rows [start, end).
func (d *rowDecoder) nullIn(batch arrow.RecordBatch, start, end int) (col, row int, ok bool) {
	for c := range d.notNull {
		a := batch.Column(c)
		if a.NullN() == 0 {
			continue
		}
		for i := start; i < end; i++ {
			if a.IsNull(i) {
				return c, i, true
			}
		}
	}
	return 0, 0, false
}

// describe words a parse error on one line.
func describe(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("column %s: %q is not %s", te.Field, te.Value, te.Type)
		}
		return fmt.Sprintf("%q is not %s", te.Value, te.Type)
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// arrowDecoder reads messages that are each an Arrow IPC stream; columns
// are matched by name (ignoring case) and cast to the table's types.
type arrowDecoder struct {
	schema  *arrow.Schema
	notNull map[int]bool
}

func (d *arrowDecoder) decode(recs []*kgo.Record) ([]arrow.RecordBatch, []rejection) {
	var out []arrow.RecordBatch
	var bad []rejection
	for _, r := range recs {
		batches, err := d.read(r.Value)
		if err != nil {
			bad = append(bad, rejection{rec: r, err: describe(err)})
			continue
		}
		out = append(out, batches...)
	}
	return out, bad
}

// read turns one message into batches of the table's schema.
func (d *arrowDecoder) read(value []byte) (out []arrow.RecordBatch, err error) {
	defer func() {
		if err != nil {
			for _, b := range out {
				b.Release()
			}
			out = nil
		}
	}()
	rd, err := ipc.NewReader(bytes.NewReader(value))
	if err != nil {
		return nil, fmt.Errorf("not an Arrow IPC stream: %w", err)
	}
	defer rd.Release()
	in := rd.Schema()
	src := make([]int, d.schema.NumFields())
	for i := range src {
		src[i] = -1
	}
	for j, f := range in.Fields() {
		found := false
		for i, g := range d.schema.Fields() {
			if strings.EqualFold(f.Name, g.Name) {
				src[i], found = j, true
			}
		}
		if !found {
			return nil, fmt.Errorf("the table has no column %q", f.Name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for rd.Next() {
		rb := rd.RecordBatch()
		n := rb.NumRows()
		cols := make([]arrow.Array, len(src))
		release := func() {
			for _, c := range cols {
				if c != nil {
					c.Release()
				}
			}
		}
		for i, j := range src {
			want := d.schema.Field(i)
			if j < 0 {
				cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, want.Type, int(n))
			} else if c, err := compute.CastArray(ctx, rb.Column(j), compute.SafeCastOptions(want.Type)); err != nil {
				release()
				return out, fmt.Errorf("column %s: %w", want.Name, err)
			} else {
				cols[i] = c
			}
			if d.notNull[i] && cols[i].NullN() > 0 {
				release()
				return out, fmt.Errorf("column %s is NOT NULL, and it is missing or null", want.Name)
			}
		}
		out = append(out, array.NewRecordBatch(d.schema, cols, n))
		release()
	}
	if err := rd.Err(); err != nil {
		return out, err
	}
	return out, nil
}
