//go:build duckdb_arrow

package engine

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/qry-dev/qry/live"
	"github.com/qry-dev/qry/live/kafka"
)

// LiveCatalog is the in-memory database holding writable tables' live rows.
const LiveCatalog = live.LiveCatalog

// WALDirName is the directory, inside a writable table's root, of its
// write-ahead log and tick journal.
const WALDirName = live.WALDirName

// TickStats describe what ticks have done, for metrics.
type TickStats = live.TickStats

// Append writes batches to a writable table as one write: validated, made
// durable in the write-ahead log (fsynced), then visible to queries. Either
// every row is written or none. The batches are not released.
func (e *Engine) Append(ctx context.Context, table string, batches []arrow.RecordBatch) (int64, error) {
	return e.live.Append(ctx, table, batches)
}

// Writable reports whether table takes writes, and its Arrow schema.
func (e *Engine) Writable(table string) (*arrow.Schema, bool) { return e.live.Schema(table) }

// HasWritable reports whether any table takes writes.
func (e *Engine) HasWritable() bool { return e.live.Any() }

// WritableTables lists the tables that take writes.
func (e *Engine) WritableTables() []string { return e.live.Tables() }

// Tick archives a writable table's live rows now (see live.Tier.Tick).
func (e *Engine) Tick(ctx context.Context, table string) error { return e.live.Tick(ctx, table) }

// Compact merges a writable table's small archive files now (see
// live.Tier.Compact); it returns the number of files merged away.
func (e *Engine) Compact(ctx context.Context, table string) (int, error) {
	return e.live.Compact(ctx, table)
}

// LiveStats returns the live tier's figures.
func (e *Engine) LiveStats() TickStats { return e.live.Stats() }

// startSources starts the Kafka sources of the tables this process writes
// (with Options.Sources).
func (e *Engine) startSources() error {
	if !e.opts.Sources {
		return nil
	}
	for _, name := range e.live.Tables() {
		_, decl, _ := e.live.Decl(name)
		if decl.Kafka == nil || !e.live.Writer(name) {
			continue
		}
		s, err := kafka.Start(kafka.Options{Table: name, Config: *decl.Kafka, Sink: e.live, Logger: e.log})
		if err != nil {
			return err
		}
		e.sources = append(e.sources, s)
	}
	return nil
}

// SourceStats describe the Kafka sources feeding writable tables.
func (e *Engine) SourceStats() []kafka.Stats {
	out := make([]kafka.Stats, len(e.sources))
	for i, s := range e.sources {
		out[i] = s.Stats()
	}
	return out
}
