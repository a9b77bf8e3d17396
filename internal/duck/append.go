//go:build duckdb_arrow

package duck

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	mapping "github.com/duckdb/duckdb-go-bindings"
)

// AppendError is DuckDB's refusal of appended rows (a value that does not
// convert, a constraint): Msg is its message.
type AppendError struct{ Msg string }

func (e *AppendError) Error() string { return e.Msg }

// Append runs query once over recs, which it reads as a table named alias
// (DuckDB's appender with a query: "INSERT INTO t SELECT ... FROM alias").
// Each batch holds at most 2,048 rows (a DuckDB chunk) and all have one
// schema; they must stay alive until Append returns.
func (c *Conn) Append(query, alias string, recs []arrow.RecordBatch) error {
	if len(recs) == 0 {
		return nil
	}
	schema := recs[0].Schema()
	conv, ed := mapping.SchemaFromArrow(c.c, schema)
	if err := errorData(ed); err != nil {
		return err
	}
	defer mapping.DestroyArrowConvertedSchema(&conv)
	var app mapping.Appender
	created := false
	defer func() {
		if created {
			mapping.AppenderDestroy(&app)
		}
	}()
	for _, rec := range recs {
		if rec.NumRows() > 2048 {
			return fmt.Errorf("append: a batch of %d rows is larger than a chunk", rec.NumRows())
		}
		chunk, ed := mapping.DataChunkFromArrow(c.c, rec, conv)
		if err := errorData(ed); err != nil {
			return err
		}
		if !created {
			n := mapping.DataChunkGetColumnCount(chunk)
			types := make([]mapping.LogicalType, n)
			names := make([]string, n)
			for i := range n {
				types[i] = mapping.VectorGetColumnType(mapping.DataChunkGetVector(chunk, i))
				names[i] = schema.Field(int(i)).Name
			}
			st := mapping.AppenderCreateQuery(c.c, query, types, alias, names, &app)
			for i := range types {
				mapping.DestroyLogicalType(&types[i])
			}
			created = true
			if st == mapping.StateError {
				mapping.DestroyDataChunk(&chunk)
				return &AppendError{Msg: Message(mapping.AppenderError(app))}
			}
		}
		st := mapping.AppendDataChunk(app, chunk)
		mapping.DestroyDataChunk(&chunk)
		if st == mapping.StateError {
			return &AppendError{Msg: Message(mapping.AppenderError(app))}
		}
	}
	if mapping.AppenderFlush(app) == mapping.StateError {
		return &AppendError{Msg: Message(mapping.AppenderError(app))}
	}
	return nil
}
