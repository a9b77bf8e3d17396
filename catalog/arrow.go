package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/qry-dev/qry/connectors"
)

// TablesReader lists a snapshot's tables: name, format, files, rows (from
// statistics), bytes, columns and files left out. The caller releases it.
func (s *Snapshot) TablesReader() array.RecordReader {
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
func (t *Table) DescribeReader() array.RecordReader {
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

// FilesReader lists a table's files: path, rows and bytes (from
// statistics), and the reader options each is read with (a CSV file's
// dialect as DuckDB's sniffer found it, its encoding; empty for formats
// that need none), then the files left out with the reason. The caller
// releases it.
func (t *Table) FilesReader() array.RecordReader {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "file", Type: arrow.BinaryTypes.String},
		{Name: "rows", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "bytes", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "read_with", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, f := range t.Files {
		keys := make([]string, 0, len(f.Read))
		for k := range f.Read {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		opts := make([]string, len(keys))
		for i, k := range keys {
			opts[i] = k + "=" + f.Read[k]
		}
		b.Field(0).(*array.StringBuilder).Append(f.Path)
		b.Field(1).(*array.Int64Builder).Append(f.Rows)
		b.Field(2).(*array.Int64Builder).Append(f.Size)
		b.Field(3).(*array.StringBuilder).Append(strings.Join(opts, ", "))
	}
	for _, p := range t.Problems {
		b.Field(0).(*array.StringBuilder).Append(p.Path)
		b.Field(1).AppendNull()
		b.Field(2).AppendNull()
		b.Field(3).(*array.StringBuilder).Append("left out: " + strings.Join(strings.Fields(p.Err.Error()), " "))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	return rr
}

// RejectsSelect is a SELECT of the lines the table's files left out:
// file, line, column, error, original_line.
func (t *Table) RejectsSelect() string {
	text := func(s string) string { return connectors.QuoteString(strings.ReplaceAll(s, "\x00", "")) }
	var rows []string
	for _, f := range t.Files {
		for _, r := range f.Rejects {
			rows = append(rows, fmt.Sprintf("(%s, %d, %s, %s, %s)", text(f.Path), r.Line, text(r.Column), text(r.Error), text(r.Text)))
		}
	}
	if len(rows) == 0 {
		return "SELECT NULL::VARCHAR AS file, NULL::BIGINT AS line, NULL::VARCHAR AS \"column\", NULL::VARCHAR AS error, NULL::VARCHAR AS original_line WHERE false"
	}
	return "SELECT file, line, NULLIF(\"column\", '') AS \"column\", error, original_line FROM (VALUES " + strings.Join(rows, ", ") +
		") v(file, line, \"column\", error, original_line)"
}
