package render

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/geojson"

	"github.com/qry-dev/qry/fault"
)

// ErrNoGeometry is returned by the geojson format for a result without a
// geometry column.
var ErrNoGeometry = fault.New(fault.Usage, "format geojson needs a geometry column in the result (GEOMETRY, or WKB as geoarrow.wkb)")

// ErrNoGeoParquetGeometry is returned by the geoparquet format for a result
// without a geometry column.
var ErrNoGeoParquetGeometry = fault.New(fault.Usage, "format geoparquet needs a geometry column in the result (GEOMETRY, or WKB as geoarrow.wkb)")

// Check reports, before anything is written, whether a result of this
// schema can be written in format (a server sends its status on it).
func Check(format string, schema *arrow.Schema) error {
	switch {
	case format == "geojson" && geometryColumn(schema) < 0:
		return ErrNoGeometry
	case format == "geoparquet" && geometryColumn(schema) < 0:
		return ErrNoGeoParquetGeometry
	}
	return nil
}

// geometryColumn is the index of the first geometry column, or -1.
func geometryColumn(schema *arrow.Schema) int {
	for i, f := range schema.Fields() {
		if IsGeometry(f) {
			return i
		}
	}
	return -1
}

// writeGeoJSON writes a FeatureCollection (RFC 7946), feature by feature:
// the result's first geometry column is each feature's geometry, the other
// columns its properties (as the json format writes them; other
// geometries as WKT). A NULL geometry is a feature with "geometry": null.
func writeGeoJSON(ctx context.Context, w io.Writer, rr array.RecordReader) (int64, error) {
	schema := rr.Schema()
	geom := geometryColumn(schema)
	if geom < 0 {
		return 0, ErrNoGeometry
	}
	keys := make([][]byte, schema.NumFields())
	for i, f := range schema.Fields() {
		keys[i], _ = json.Marshal(f.Name)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"type":"FeatureCollection","features":[`)
	first := true
	var row int64 // rows written before this batch
	n, err := each(ctx, rr, func(rec arrow.RecordBatch) error {
		g := rec.Column(geom)
		if ext, ok := g.(array.ExtensionArray); ok {
			g = ext.Storage()
		}
		bin, ok := g.(interface{ Value(int) []byte })
		if !ok {
			return fmt.Errorf("column %s: %s is not WKB", schema.Field(geom).Name, g.DataType())
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			if !first {
				bw.WriteByte(',')
			}
			first = false
			bw.WriteString("\n" + `{"type":"Feature","geometry":`)
			if g.IsNull(r) {
				bw.WriteString("null")
			} else {
				shape, err := wkb.Unmarshal(bin.Value(r))
				if err != nil {
					return fmt.Errorf("column %s, row %d: %w", schema.Field(geom).Name, row+int64(r)+1, err)
				}
				v, err := json.Marshal(geojson.NewGeometry(shape))
				if err != nil {
					return fmt.Errorf("column %s, row %d: %w", schema.Field(geom).Name, row+int64(r)+1, err)
				}
				bw.Write(v)
			}
			bw.WriteString(`,"properties":`)
			if err := writeObject(bw, keys, rec, r, geom); err != nil {
				return err
			}
			bw.WriteString("}")
		}
		row += rec.NumRows()
		return nil
	})
	bw.WriteString("\n]}\n")
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}
