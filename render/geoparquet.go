package render

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/paulmach/orb/encoding/wkb"
)

// geoColumn is one geometry column's GeoParquet metadata, gathered while
// the rows are written.
type geoColumn struct {
	index int
	crs   json.RawMessage // PROJJSON, or null: unknown
	types map[string]bool
}

// writeGeoParquet writes Parquet with GeoParquet 1.1 metadata (the "geo"
// key): every geometry column WKB-encoded, with its CRS (from its GeoArrow
// metadata; null, that is unknown, without one) and its geometry types.
func writeGeoParquet(ctx context.Context, w io.Writer, rr array.RecordReader) (int64, error) {
	schema := rr.Schema()
	var cols []*geoColumn
	for i, f := range schema.Fields() {
		if !IsGeometry(f) {
			continue
		}
		c := &geoColumn{index: i, crs: json.RawMessage("null"), types: map[string]bool{}}
		if meta, ok := f.Metadata.GetValue("ARROW:extension:metadata"); ok {
			var ext struct {
				CRS json.RawMessage `json:"crs"`
			}
			if json.Unmarshal([]byte(meta), &ext) == nil && len(ext.CRS) > 0 {
				c.crs = ext.CRS
			}
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		return 0, ErrNoGeoParquetGeometry
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	pw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return 0, fmt.Errorf("parquet: %w", err)
	}
	n, err := each(ctx, rr, func(rec arrow.RecordBatch) error {
		for _, c := range cols {
			if err := c.observe(schema.Field(c.index).Name, rec.Column(c.index)); err != nil {
				return err
			}
		}
		return pw.WriteBuffered(rec)
	})
	if err == nil {
		err = pw.AppendKeyValueMetadata("geo", geoMetadata(schema, cols))
	}
	if cerr := pw.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// observe notes the types and extent of a batch's geometries.
func (c *geoColumn) observe(name string, arr arrow.Array) error {
	if ext, ok := arr.(array.ExtensionArray); ok {
		arr = ext.Storage()
	}
	bin, ok := arr.(interface{ Value(int) []byte })
	if !ok {
		return fmt.Errorf("column %s: %s is not WKB", name, arr.DataType())
	}
	for i := range arr.Len() {
		if arr.IsNull(i) {
			continue
		}
		g, err := wkb.Unmarshal(bin.Value(i))
		if err != nil {
			return fmt.Errorf("column %s: %w", name, err)
		}
		c.types[g.GeoJSONType()] = true
	}
	return nil
}

// geoMetadata is the "geo" key's JSON.
func geoMetadata(schema *arrow.Schema, cols []*geoColumn) string {
	type column struct {
		Encoding      string          `json:"encoding"`
		GeometryTypes []string        `json:"geometry_types"`
		CRS           json.RawMessage `json:"crs"`
	}
	doc := struct {
		Version       string            `json:"version"`
		PrimaryColumn string            `json:"primary_column"`
		Columns       map[string]column `json:"columns"`
	}{Version: "1.1.0", PrimaryColumn: schema.Field(cols[0].index).Name, Columns: map[string]column{}}
	for _, c := range cols {
		types := make([]string, 0, len(c.types))
		for t := range c.types {
			types = append(types, t)
		}
		sort.Strings(types)
		doc.Columns[schema.Field(c.index).Name] = column{Encoding: "WKB", GeometryTypes: types, CRS: c.crs}
	}
	out, _ := json.Marshal(doc)
	return string(out)
}
