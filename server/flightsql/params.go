package flightsql

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/qry-dev/qry/engine"
)

// rowValues turns one row of a parameter batch into Go values the engine
// binds.
func rowValues(rec arrow.RecordBatch, row int) ([]any, error) {
	args := make([]any, rec.NumCols())
	for c := range args {
		v, err := value(rec.Column(c), row)
		if err != nil {
			return nil, fmt.Errorf("parameter %d (%s): %w", c+1, rec.ColumnName(c), err)
		}
		args[c] = v
	}
	return args, nil
}

func value(arr arrow.Array, i int) (any, error) {
	if arr.IsNull(i) || arr.DataType().ID() == arrow.NULL {
		return nil, nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int8:
		return a.Value(i), nil
	case *array.Int16:
		return a.Value(i), nil
	case *array.Int32:
		return a.Value(i), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Uint8:
		return a.Value(i), nil
	case *array.Uint16:
		return a.Value(i), nil
	case *array.Uint32:
		return a.Value(i), nil
	case *array.Uint64:
		return a.Value(i), nil
	case *array.Float32:
		return a.Value(i), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.String:
		return string([]byte(a.Value(i))), nil
	case *array.LargeString:
		return string([]byte(a.Value(i))), nil
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.Date32:
		return a.Value(i).ToTime().UTC().Format(time.DateOnly), nil
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		t := a.Value(i).ToTime(tt.Unit)
		if tt.TimeZone == "" {
			return t.UTC(), nil
		}
		return t.In(time.FixedZone(tt.TimeZone, 0)), nil
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		return decimal128.Num.ToString(a.Value(i), dt.Scale), nil
	case *array.Dictionary:
		return value(a.Dictionary(), a.GetValueIndex(i))
	}
	return nil, fmt.Errorf("%w: type %s is not supported as a parameter", engine.ErrParams, arr.DataType())
}
