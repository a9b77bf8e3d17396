package enginetest

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// frontend runs statements as one kind of client does. Errors carry the
// fault.Kind the client learnt (fault.KindOf), and their position
// (fault.Position).
type frontend interface {
	// query runs a statement and reads its whole result.
	query(ctx context.Context, sql string, params []any) (*result, error)
	// update runs an INSERT into a writable table: the rows written.
	update(ctx context.Context, sql string, params []any) (int64, error)
}

// result is a whole answer: its Arrow schema and canonical rows
// (fixture.ArrowRows).
type result struct {
	schema *arrow.Schema
	rows   [][]string
}

// frontends are the front ends every file runs through, in this order.
var frontends = []struct {
	name  string
	start func(t *testing.T, eng *engine.Engine) frontend
	// accelerate reads every table from its in-memory copy.
	accelerate bool
}{
	{"inprocess", startInProcess, false},
	{"flight", startFlight, false},
	{"http", startHTTP, false},
	{"accelerated", startInProcess, true},
}

// FrontEnds names the front ends, in the order they run.
func FrontEnds() []string {
	out := make([]string, len(frontends))
	for i, fe := range frontends {
		out[i] = fe.name
	}
	return out
}

func read(rr array.RecordReader) (*result, error) {
	rows, err := fixture.TryArrowRows(rr)
	if err != nil {
		return nil, err
	}
	return &result{schema: rr.Schema(), rows: rows}, nil
}

// inProcess calls the engine as the CLI and the shell do.
type inProcess struct{ eng *engine.Engine }

func startInProcess(_ *testing.T, eng *engine.Engine) frontend { return inProcess{eng} }

func (f inProcess) query(ctx context.Context, sql string, params []any) (*result, error) {
	rows, err := f.eng.Query(ctx, sql, params...)
	if err != nil {
		return nil, err
	}
	defer rows.Release()
	return read(rows)
}

func (f inProcess) update(ctx context.Context, sql string, params []any) (int64, error) {
	var sets [][]any
	if params != nil {
		sets = [][]any{params}
	}
	return f.eng.Exec(ctx, sql, sets...)
}
