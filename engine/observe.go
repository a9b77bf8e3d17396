//go:build duckdb_arrow

package engine

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/qry-dev/qry/fault"
)

// Origin says who sent a query: the front end and, when the client
// authenticated, the token holder's name. It travels in the context.
type Origin struct {
	Frontend string // "flight", "http", "cli", "shell"
	User     string
}

type originKey struct{}

// WithOrigin returns a context whose queries are reported as coming from o.
func WithOrigin(ctx context.Context, o Origin) context.Context {
	return context.WithValue(ctx, originKey{}, o)
}

// OriginOf returns the origin WithOrigin put in ctx.
func OriginOf(ctx context.Context) Origin {
	o, _ := ctx.Value(originKey{}).(Origin)
	return o
}

// QueryStats describe one query once it is over: read to its end, failed,
// or released early. Options.OnQueryDone receives them, once per Query call.
type QueryStats struct {
	SQL      string
	Origin   Origin
	Duration time.Duration // from Query to the end of the result or Release
	Rows     int64         // rows streamed
	Bytes    int64         // Arrow buffer bytes streamed
	// Files and FilesRead add up the catalog files of the statement's table
	// references and those left after pruning.
	Files, FilesRead int
	FromStats        bool
	Cached           bool // answered from the result cache: Files as planned, none opened
	// Err is nil for a result read to its end; ErrCanceled for one
	// released before its end.
	Err error
}

// Status classifies the outcome for metrics and logs: ok, canceled,
// timeout, busy, forbidden, invalid (the statement's fault) or error.
func (s QueryStats) Status() string {
	if s.Err == nil {
		return "ok"
	}
	switch fault.KindOf(s.Err) {
	case fault.Timeout:
		return "timeout"
	case fault.Canceled:
		return "canceled"
	case fault.Busy:
		return "busy"
	case fault.Forbidden:
		return "forbidden"
	case fault.Syntax, fault.Catalog, fault.Binder, fault.Invalid, fault.Params, fault.Statement,
		fault.TooLarge, fault.BadWrite, fault.ReadOnly:
		return "invalid"
	}
	return "error"
}

// report sends a query's stats to Options.OnQueryDone.
func (e *Engine) report(ctx context.Context, sql string, start time.Time, plan *Plan, rows, bytes int64, err error) {
	if e.opts.OnQueryDone == nil {
		return
	}
	st := QueryStats{SQL: sql, Origin: OriginOf(ctx), Duration: time.Since(start), Rows: rows, Bytes: bytes, Err: err}
	if plan != nil {
		st.FromStats = plan.FromStats
		st.Cached = plan.Cached
		for _, t := range plan.Tables {
			st.Files += t.Files
			st.FilesRead += t.Kept
		}
	}
	e.opts.OnQueryDone(st)
}

// reportWrite reports an INSERT like a query: Rows are the rows written.
func (e *Engine) reportWrite(ctx context.Context, sql string, start time.Time, rows int64, err error) {
	e.report(ctx, sql, start, nil, rows, 0, err)
}

// batchBytes is the size of a batch's Arrow buffers.
func batchBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += dataBytes(col.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	return n
}
