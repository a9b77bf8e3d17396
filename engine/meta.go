package engine

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
)

// TablesReader lists a snapshot's tables: name, format, files, rows (from
// statistics), bytes, columns and files left out. The caller releases it.
func TablesReader(s *catalog.Snapshot) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "table", Type: arrow.BinaryTypes.String},
		{Name: "format", Type: arrow.BinaryTypes.String},
		{Name: "files", Type: arrow.PrimitiveTypes.Int64},
		{Name: "rows", Type: arrow.PrimitiveTypes.Int64},
		{Name: "bytes", Type: arrow.PrimitiveTypes.Int64},
		{Name: "columns", Type: arrow.BinaryTypes.String},
		{Name: "left_out", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, t := range s.Tables {
		var size int64
		for _, f := range t.Files {
			size += f.Size
		}
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
		}
		b.Field(0).(*array.StringBuilder).Append(t.Name)
		b.Field(1).(*array.StringBuilder).Append(t.Format)
		b.Field(2).(*array.Int64Builder).Append(int64(len(t.Files)))
		b.Field(3).(*array.Int64Builder).Append(t.Rows())
		b.Field(4).(*array.Int64Builder).Append(size)
		b.Field(5).(*array.StringBuilder).Append(strings.Join(names, ", "))
		b.Field(6).(*array.Int64Builder).Append(int64(len(t.Problems)))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return rr
}

// DescribeReader lists a table's columns: name, type, whether it is a
// partition column, and min, max and null count over all files from
// statistics (NULL where unknown). The caller releases it.
func DescribeReader(t *catalog.Table) array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "column", Type: arrow.BinaryTypes.String},
		{Name: "type", Type: arrow.BinaryTypes.String},
		{Name: "partition", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "min", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "max", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "nulls", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, c := range t.Columns {
		b.Field(0).(*array.StringBuilder).Append(c.Name)
		b.Field(1).(*array.StringBuilder).Append(c.Type)
		b.Field(2).(*array.BooleanBuilder).Append(c.Partition)
		st, ok := t.ColumnStats(c.Name)
		if ok && st.HasMinMax {
			b.Field(3).(*array.StringBuilder).Append(st.Min)
			b.Field(4).(*array.StringBuilder).Append(st.Max)
		} else {
			b.Field(3).AppendNull()
			b.Field(4).AppendNull()
		}
		if ok && st.NullCount >= 0 {
			b.Field(5).(*array.Int64Builder).Append(st.NullCount)
		} else {
			b.Field(5).AppendNull()
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return rr
}

// QuoteIdent quotes a name as a SQL identifier.
func QuoteIdent(name string) string { return connectors.QuoteIdent(name) }
