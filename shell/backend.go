package shell

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/qry-dev/qry/client"
	"github.com/qry-dev/qry/engine"
)

// Table is what the shell knows of a table: for .tables, .schema and
// completion.
type Table struct {
	Name    string
	Columns []Column
}

// Column is a table column.
type Column struct {
	Name, Type string
}

// Backend runs the shell's statements.
type Backend interface {
	// Query runs one statement; the caller releases the reader.
	Query(ctx context.Context, sql string) (array.RecordReader, error)
	// Tables lists the tables with their columns.
	Tables(ctx context.Context) ([]Table, error)
	// Refresh re-reads the catalog (local only; remote servers refresh
	// themselves).
	Refresh(ctx context.Context) error
	// Describe names where the shell runs (for the banner).
	Describe() string
}

// Local runs statements on an in-process engine.
type Local struct{ Engine *engine.Engine }

var _ Backend = Local{}

// Query implements Backend.
func (l Local) Query(ctx context.Context, sql string) (array.RecordReader, error) {
	return l.Engine.Query(ctx, sql)
}

// Tables implements Backend.
func (l Local) Tables(context.Context) ([]Table, error) {
	var out []Table
	for _, t := range l.Engine.Catalog().Snapshot().Tables {
		tb := Table{Name: t.Name}
		for _, c := range t.Columns {
			tb.Columns = append(tb.Columns, Column{Name: c.Name, Type: c.Type})
		}
		out = append(out, tb)
	}
	return out, nil
}

// Refresh implements Backend.
func (l Local) Refresh(ctx context.Context) error { return l.Engine.Refresh(ctx) }

// Describe implements Backend.
func (l Local) Describe() string {
	return "local catalog"
}

// Remote runs statements on a qry server.
type Remote struct {
	Client *client.Client
	URL    string
}

var _ Backend = Remote{}

// Query implements Backend.
func (r Remote) Query(ctx context.Context, sql string) (array.RecordReader, error) {
	return r.Client.Query(ctx, sql)
}

// Tables implements Backend.
func (r Remote) Tables(ctx context.Context) ([]Table, error) {
	rr, err := r.Client.Tables(ctx)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var out []Table
	for rr.Next() {
		rec := rr.RecordBatch()
		names, ok1 := rec.Column(2).(*array.String)
		schemas, ok2 := rec.Column(4).(*array.Binary)
		if !ok1 || !ok2 {
			continue
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			t := Table{Name: strings.Clone(names.Value(i))}
			if s, err := flight.DeserializeSchema(schemas.Value(i), memory.DefaultAllocator); err == nil {
				for _, f := range s.Fields() {
					t.Columns = append(t.Columns, Column{Name: f.Name, Type: arrowType(f)})
				}
			}
			out = append(out, t)
		}
	}
	return out, rr.Err()
}

func arrowType(f arrow.Field) string {
	if name, ok := f.Metadata.GetValue("ARROW:extension:name"); ok {
		return name
	}
	return f.Type.String()
}

// Refresh implements Backend.
func (r Remote) Refresh(context.Context) error { return nil }

// Describe implements Backend.
func (r Remote) Describe() string { return r.URL }
