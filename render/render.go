package render

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
	"github.com/qry-dev/qry/fault"
)

// Formats lists the output formats by name.
var Formats = []string{"table", "csv", "json", "ndjson", "line", "markdown", "parquet", "arrow", "geojson", "geoparquet"}

// ErrFormat is returned for an unknown format name.
var ErrFormat = fault.New(fault.Usage, "unknown format")

// Binary reports whether a format writes bytes that do not belong on a
// terminal.
func Binary(format string) bool {
	return format == "parquet" || format == "arrow" || format == "geoparquet"
}

// Options control rendering. The zero value renders an unbounded table.
type Options struct {
	// Format is one of Formats; empty means table.
	Format string
	// MaxRows caps the rows a table shows (the rest are counted and
	// reported); 0 means no cap. Other formats write every row.
	MaxRows int
	// Width is the terminal width a table must fit; 0 means no limit.
	Width int
	// MaxCell caps a table cell's width in characters; 0 means 40.
	MaxCell int
	// Color lets a table use terminal colors (NULL is dimmed).
	Color bool
	// Markdown renders the table as GitHub-flavoured Markdown.
	Markdown bool
}

// Write drains rr into w in the chosen format and returns the number of rows
// read. It does not release rr.
func Write(ctx context.Context, w io.Writer, rr array.RecordReader, opts Options) (int64, error) {
	switch opts.Format {
	case "", "table":
		return writeTable(ctx, w, rr, opts)
	case "csv":
		return writeCSV(ctx, w, rr)
	case "json":
		return writeJSON(ctx, w, rr, true)
	case "ndjson":
		return writeJSON(ctx, w, rr, false)
	case "line":
		return writeLines(ctx, w, rr)
	case "markdown":
		opts.Markdown = true
		return writeTable(ctx, w, rr, opts)
	case "parquet":
		return writeParquet(ctx, w, rr)
	case "arrow":
		return writeArrow(ctx, w, rr)
	case "geojson":
		return writeGeoJSON(ctx, w, rr)
	case "geoparquet":
		return writeGeoParquet(ctx, w, rr)
	}
	return 0, fmt.Errorf("%w %q (one of %s)", ErrFormat, opts.Format, strings.Join(Formats, ", "))
}

// each calls fn for every batch, checking ctx between batches.
func each(ctx context.Context, rr array.RecordReader, fn func(arrow.RecordBatch) error) (int64, error) {
	var n int64
	for rr.Next() {
		rec := rr.RecordBatch()
		if err := fn(rec); err != nil {
			return n, err
		}
		n += rec.NumRows()
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
	return n, rr.Err()
}

func writeCSV(ctx context.Context, w io.Writer, rr array.RecordReader) (int64, error) {
	cw := csv.NewWriter(w)
	schema := rr.Schema()
	header := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		header[i] = f.Name
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	row := make([]string, len(header))
	n, err := each(ctx, rr, func(rec arrow.RecordBatch) error {
		for r := 0; r < int(rec.NumRows()); r++ {
			for c := range row {
				row[c], _ = Text(schema.Field(c), rec.Column(c), r)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return n, err
}

// jsonValue is a value as JSON: numbers stay numbers (decimals exact),
// geometries become WKT, nested types nest.
func jsonValue(f arrow.Field, arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch arr.DataType().ID() {
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP, arrow.BINARY, arrow.LARGE_BINARY, arrow.EXTENSION:
		s, _ := Text(f, arr, i)
		return s
	case arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return json.Number(arr.ValueStr(i))
	}
	return arr.GetOneForMarshal(i)
}

// JSONRows writes each row of rec to w as one JSON object per line, as
// the ndjson format does.
func JSONRows(w io.Writer, rec arrow.RecordBatch) error {
	bw := bufio.NewWriter(w)
	keys := make([][]byte, rec.Schema().NumFields())
	for i, f := range rec.Schema().Fields() {
		keys[i], _ = json.Marshal(f.Name)
	}
	for r := range int(rec.NumRows()) {
		if err := writeObject(bw, keys, rec, r, -1); err != nil {
			return err
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// writeObject writes row r of rec as a JSON object of its columns but
// skip (-1: none), keyed by keys (the columns' names, JSON-encoded).
func writeObject(bw *bufio.Writer, keys [][]byte, rec arrow.RecordBatch, r, skip int) error {
	bw.WriteByte('{')
	sep := false
	for c := range keys {
		if c == skip {
			continue
		}
		if sep {
			bw.WriteByte(',')
		}
		sep = true
		bw.Write(keys[c])
		bw.WriteByte(':')
		v, err := json.Marshal(jsonValue(rec.Schema().Field(c), rec.Column(c), r))
		if err != nil {
			return fmt.Errorf("column %s: %w", rec.Schema().Field(c).Name, err)
		}
		bw.Write(v)
	}
	bw.WriteByte('}')
	return nil
}

func writeJSON(ctx context.Context, w io.Writer, rr array.RecordReader, asArray bool) (int64, error) {
	bw := bufio.NewWriter(w)
	schema := rr.Schema()
	keys := make([][]byte, schema.NumFields())
	for i, f := range schema.Fields() {
		keys[i], _ = json.Marshal(f.Name)
	}
	first := true
	if asArray {
		bw.WriteString("[")
	}
	n, err := each(ctx, rr, func(rec arrow.RecordBatch) error {
		for r := 0; r < int(rec.NumRows()); r++ {
			if asArray {
				if !first {
					bw.WriteString(",")
				}
				bw.WriteString("\n")
			}
			first = false
			if err := writeObject(bw, keys, rec, r, -1); err != nil {
				return err
			}
			if !asArray {
				bw.WriteByte('\n')
			}
		}
		return nil
	})
	if asArray {
		if !first {
			bw.WriteString("\n")
		}
		bw.WriteString("]\n")
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

func writeParquet(ctx context.Context, w io.Writer, rr array.RecordReader) (int64, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	pw, err := pqarrow.NewFileWriter(rr.Schema(), w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return 0, fmt.Errorf("parquet: %w", err)
	}
	n, err := each(ctx, rr, pw.WriteBuffered)
	if cerr := pw.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func writeArrow(ctx context.Context, w io.Writer, rr array.RecordReader) (int64, error) {
	iw := ipc.NewWriter(w, ipc.WithSchema(rr.Schema()))
	n, err := each(ctx, rr, iw.Write)
	if cerr := iw.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func writeTable(ctx context.Context, w io.Writer, rr array.RecordReader, opts Options) (int64, error) {
	schema := rr.Schema()
	maxCell := opts.MaxCell
	if maxCell <= 0 {
		maxCell = 40
	}
	ncol := schema.NumFields()
	var rows [][]string
	var nulls [][]bool
	var total int64
	n, err := each(ctx, rr, func(rec arrow.RecordBatch) error {
		for r := 0; r < int(rec.NumRows()); r++ {
			total++
			if opts.MaxRows > 0 && len(rows) >= opts.MaxRows {
				continue
			}
			row := make([]string, ncol)
			isNull := make([]bool, ncol)
			for c := 0; c < ncol; c++ {
				s, ok := Text(schema.Field(c), rec.Column(c), r)
				if !ok {
					s, isNull[c] = "NULL", true
				}
				// Arrow strings alias the batch's memory: copy what outlives it.
				row[c] = strings.Clone(clip(s, maxCell))
			}
			rows = append(rows, row)
			nulls = append(nulls, isNull)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	// Column widths, then drop middle columns until the table fits.
	widths := make([]int, ncol)
	for c, f := range schema.Fields() {
		widths[c] = max(utf8.RuneCountInString(f.Name), utf8.RuneCountInString(f.Type.String()))
		for _, row := range rows {
			widths[c] = max(widths[c], utf8.RuneCountInString(row[c]))
		}
	}
	shown := fitColumns(widths, opts.Width)

	tw := table.NewWriter()
	tw.SetStyle(table.StyleRounded)
	tw.Style().Format.Header = text.FormatDefault
	head := table.Row{}
	types := table.Row{}
	var cfgs []table.ColumnConfig
	for i, c := range shown {
		if c < 0 {
			head = append(head, "…")
			types = append(types, "")
			continue
		}
		f := schema.Field(c)
		head = append(head, f.Name)
		types = append(types, typeName(f))
		if isNumeric(f.Type) {
			cfgs = append(cfgs, table.ColumnConfig{Number: i + 1, Align: text.AlignRight})
		}
	}
	tw.AppendHeader(head)
	tw.AppendHeader(types)
	tw.SetColumnConfigs(cfgs)
	for r, row := range rows {
		out := make(table.Row, len(shown))
		for i, c := range shown {
			switch {
			case c < 0:
				out[i] = "…"
			case nulls[r][c] && opts.Color:
				out[i] = text.Faint.Sprint("NULL")
			default:
				out[i] = row[c]
			}
		}
		tw.AppendRow(out)
	}
	footer := fmt.Sprintf("%d row%s", total, plural(total))
	if int64(len(rows)) < total {
		footer = fmt.Sprintf("%d rows (%d shown)", total, len(rows))
	}
	if hidden := ncol - countShown(shown); hidden > 0 {
		footer += fmt.Sprintf(", %d column%s hidden", hidden, plural(int64(hidden)))
	}
	if opts.Markdown {
		tw.ResetHeaders()
		tw.AppendHeader(head)
		_, err = io.WriteString(w, tw.RenderMarkdown()+"\n")
		return n, err
	}
	tw.SetCaption(footer)
	_, err = io.WriteString(w, tw.Render()+"\n")
	return n, err
}

// writeLines writes one "column = value" line per column, a blank line
// between rows (sqlite's line mode).
func writeLines(ctx context.Context, w io.Writer, rr array.RecordReader) (int64, error) {
	bw := bufio.NewWriter(w)
	schema := rr.Schema()
	width := 0
	for _, f := range schema.Fields() {
		width = max(width, utf8.RuneCountInString(f.Name))
	}
	first := true
	n, err := each(ctx, rr, func(rec arrow.RecordBatch) error {
		for r := 0; r < int(rec.NumRows()); r++ {
			if !first {
				bw.WriteByte('\n')
			}
			first = false
			for c, f := range schema.Fields() {
				v, ok := Text(f, rec.Column(c), r)
				if !ok {
					v = "NULL"
				}
				fmt.Fprintf(bw, "%*s = %s\n", width, f.Name, v)
			}
		}
		return nil
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

func typeName(f arrow.Field) string {
	if IsGeometry(f) {
		return "geometry"
	}
	return f.Type.String()
}

// fitColumns returns the column indexes to show, with -1 for an elision
// marker, keeping the first and last columns and dropping from the middle.
func fitColumns(widths []int, limit int) []int {
	all := make([]int, len(widths))
	for i := range all {
		all[i] = i
	}
	if limit <= 0 {
		return all
	}
	cost := func(cols []int) int {
		total := 1
		for _, c := range cols {
			if c < 0 {
				total += 4
			} else {
				total += widths[c] + 3
			}
		}
		return total
	}
	if cost(all) <= limit {
		return all
	}
	left, right := 0, len(widths)-1
	var keepL, keepR []int
	for turn := 0; left <= right; turn++ {
		cand := append(append(append([]int{}, keepL...), -1), keepR...)
		var next int
		if turn%2 == 0 {
			next = left
		} else {
			next = right
		}
		var try []int
		if turn%2 == 0 {
			try = append(append(append(append([]int{}, keepL...), next), -1), keepR...)
		} else {
			try = append(append(append([]int{}, keepL...), -1), append([]int{next}, keepR...)...)
		}
		if cost(try) > limit {
			if len(keepL)+len(keepR) == 0 {
				return []int{0, -1}
			}
			return cand
		}
		if turn%2 == 0 {
			keepL = append(keepL, next)
			left++
		} else {
			keepR = append([]int{next}, keepR...)
			right--
		}
	}
	return all
}

func countShown(cols []int) int {
	n := 0
	for _, c := range cols {
		if c >= 0 {
			n++
		}
	}
	return n
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", "↵")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}
