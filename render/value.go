package render

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/paulmach/orb/encoding/wkt"
)

// IsGeometry reports whether a field carries WKB geometries (geoarrow.wkb or
// DuckDB's GEOMETRY).
func IsGeometry(f arrow.Field) bool {
	if name, ok := f.Metadata.GetValue("ARROW:extension:name"); ok {
		return name == "geoarrow.wkb" || strings.HasSuffix(name, "geometry")
	}
	if ext, ok := f.Type.(arrow.ExtensionType); ok {
		return ext.ExtensionName() == "geoarrow.wkb"
	}
	return false
}

func isNumeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

// Text renders one value as text: exact numbers, ISO dates and times,
// geometries as WKT, binary as hex. ok is false for NULL.
func Text(f arrow.Field, arr arrow.Array, i int) (s string, ok bool) {
	if arr.IsNull(i) {
		return "", false
	}
	if ext, isExt := arr.(array.ExtensionArray); isExt {
		arr = ext.Storage()
	}
	switch a := arr.(type) {
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64), true
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32), true
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02"), true
	case *array.Date64:
		return a.Value(i).ToTime().Format("2006-01-02"), true
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		t := a.Value(i).ToTime(tt.Unit)
		if tt.TimeZone != "" {
			if loc, err := time.LoadLocation(tt.TimeZone); err == nil {
				t = t.In(loc)
			}
			return t.Format("2006-01-02 15:04:05.999999999-07:00"), true
		}
		return t.Format("2006-01-02 15:04:05.999999999"), true
	case *array.Binary:
		if IsGeometry(f) {
			return geomText(a.Value(i)), true
		}
		return `\x` + hex.EncodeToString(a.Value(i)), true
	case *array.LargeBinary:
		if IsGeometry(f) {
			return geomText(a.Value(i)), true
		}
		return `\x` + hex.EncodeToString(a.Value(i)), true
	case *array.String:
		return a.Value(i), true
	case *array.LargeString:
		return a.Value(i), true
	case *array.StringView:
		return a.Value(i), true
	}
	return arr.ValueStr(i), true
}

func geomText(b []byte) string {
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return `\x` + hex.EncodeToString(b)
	}
	return wkt.MarshalString(g)
}
