package hostile

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// LeakSchema returns the text of a result's schema (column names,
// metadata, types) if it shows a marker, else "".
func (p *Plant) LeakSchema(s *arrow.Schema) string {
	if s != nil && p.Leak(s.String()) {
		return s.String()
	}
	return ""
}

// LeakBatch returns a value of a batch (or its schema) that shows a
// marker, else "". Strings and binaries are read raw (a BLOB read from a
// secret file holds the marker's bytes), nested values element by
// element.
func (p *Plant) LeakBatch(rec arrow.RecordBatch) string {
	if s := p.LeakSchema(rec.Schema()); s != "" {
		return s
	}
	for _, col := range rec.Columns() {
		if s := p.leakArray(col); s != "" {
			return s
		}
	}
	return ""
}

func (p *Plant) leakArray(arr arrow.Array) string {
	raw := func(n int, value func(int) []byte) string {
		for i := 0; i < n; i++ {
			if v := string(value(i)); p.Leak(v) {
				return v
			}
		}
		return ""
	}
	switch a := arr.(type) {
	case array.ExtensionArray:
		return p.leakArray(a.Storage())
	case *array.Dictionary:
		return p.leakArray(a.Dictionary())
	case array.ListLike:
		return p.leakArray(a.ListValues())
	case *array.Struct:
		for i := 0; i < a.NumField(); i++ {
			if s := p.leakArray(a.Field(i)); s != "" {
				return s
			}
		}
		return ""
	case *array.Binary:
		return raw(a.Len(), a.Value)
	case *array.LargeBinary:
		return raw(a.Len(), a.Value)
	case *array.BinaryView:
		return raw(a.Len(), a.Value)
	case *array.FixedSizeBinary:
		return raw(a.Len(), a.Value)
	}
	for i := 0; i < arr.Len(); i++ {
		if arr.IsValid(i) && p.Leak(arr.ValueStr(i)) {
			return arr.ValueStr(i)
		}
	}
	return ""
}
