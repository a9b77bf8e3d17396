//go:build duckdb_arrow

package live

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
)

// runTicks archives each writable table's live rows every tick until ctx
// ends.
func (tr *Tier) runTicks(ctx context.Context) {
	for _, lt := range tr.tables {
		if lt.follower {
			continue
		}
		go func() {
			defer func() {
				if p := recover(); p != nil {
					tr.log.Error("tick stopped", "table", lt.name, "panic", p)
				}
			}()
			t := time.NewTicker(lt.decl.Tick)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := tr.Tick(ctx, lt.name); err != nil && ctx.Err() == nil {
						tr.log.Warn("tick failed: rows stay live", "table", lt.name, "err", err)
						continue
					}
					lt.work.Lock()
					n, err := tr.compact(ctx, lt, compactMinFiles)
					lt.work.Unlock()
					if err != nil && ctx.Err() == nil {
						tr.log.Warn("compaction failed: small files stay", "table", lt.name, "err", err)
					} else if n > 0 {
						tr.log.Info("compacted", "table", lt.name, "files", n)
					}
				}
			}
		}()
	}
}

// Tick archives a writable table's live rows now: they are written as
// Parquet files (one per partition) under temporary names, made durable
// (fsynced, or uploaded whole to object storage), then, in one step that
// queries cannot straddle, moved into the table's archive, added to the
// catalog and removed from the live tier. The write-ahead log segments
// they came from are removed last.
func (tr *Tier) Tick(ctx context.Context, table string) (err error) {
	lt, ok := tr.tables[strings.ToLower(table)]
	if !ok {
		return fmt.Errorf("%s: %w", table, ErrNotWritable)
	}
	if lt.follower {
		return lt.openLog()
	}
	defer func() {
		tr.statMu.Lock()
		if err == nil {
			tr.stats.Ticks++
			tr.stats.LastTick = time.Now()
		} else {
			tr.stats.Fails++
		}
		tr.statMu.Unlock()
	}()
	lt.work.Lock()
	defer lt.work.Unlock()
	if err := tr.finish(ctx, lt); err != nil {
		return err
	}
	lt.mu.Lock()
	upto := lt.seq
	if upto == lt.archived {
		lt.mu.Unlock()
		return nil
	}
	if err := lt.openLog(); err != nil {
		lt.mu.Unlock()
		return err
	}
	old, err := lt.log.Rotate() // every record up to upto is in old
	if err != nil {
		lt.mu.Unlock()
		return err
	}
	pos := lt.positions.clone() // as of upto
	// The rows to archive are copied while writers wait (a scan running
	// beside the writer's inserts was seen to return rows past its
	// filter); the Parquet files are then written from the copy while
	// writes go on.
	snap := LiveCatalog + ".main." + connectors.QuoteIdent("_qry_tick_"+lt.name)
	err = lt.c.Exec(fmt.Sprintf("CREATE OR REPLACE TABLE %s AS SELECT * FROM %s WHERE %s <= %d", snap, lt.ident, seqCol, upto))
	lt.mu.Unlock()
	if err != nil {
		return err
	}
	defer func() {
		lt.mu.Lock()
		_ = lt.c.Exec("DROP TABLE IF EXISTS " + snap)
		lt.mu.Unlock()
	}()
	renames, err := tr.writeArchive(ctx, lt, snap, upto)
	if err == nil {
		err = lt.writeJournal(journal{Archived: upto, Renames: renames, Positions: pos})
	}
	if err != nil {
		tmps := make([]string, len(renames))
		for i, r := range renames {
			tmps[i] = r[0]
		}
		_ = lt.arc.remove(ctx, tmps)
		return err
	}
	return tr.handOver(ctx, lt, &pendingHandover{renames: renames, upto: upto, positions: pos, segments: old})
}

// pendingHandover is a tick's or a compaction's hand-over, from the moment
// the journal promises its renames until it is done. One that failed (the
// object store did not answer, say) is done again before the table's next
// tick or compaction, and until then its files stay hidden from the
// catalog: nothing it archived is read twice.
type pendingHandover struct {
	renames [][2]string
	// A tick's: the rows archived, and the log segments that hold them.
	upto      uint64
	positions Positions
	segments  []string
	// A compaction's: the files it replaces (relative, and as the catalog
	// names them).
	compaction      bool
	removes, retire []string
}

// finish does the hand-over a failure left undone, if any. lt.work is held.
func (tr *Tier) finish(ctx context.Context, lt *tbl) error {
	if lt.unfinished == nil {
		return nil
	}
	return tr.handOver(ctx, lt, lt.unfinished)
}

// handOver moves a tick's or compaction's files into place and hands them
// to queries; on failure it is kept to be done again (see pendingHandover).
// lt.work is held.
func (tr *Tier) handOver(ctx context.Context, lt *tbl, h *pendingHandover) error {
	finals := make([]string, len(h.renames))
	for i, r := range h.renames {
		finals[i] = lt.arc.path(r[1])
	}
	// Hidden from the catalog until the hand-over is whole (a refresh of
	// its own may list the archive meanwhile).
	tr.cat.Retire(finals...)
	lt.unfinished = h
	// No query plans or starts meanwhile.
	lt.mu.Lock()
	tr.handover.Lock()
	var ep uint64
	err := lt.arc.promote(ctx, h.renames)
	if err == nil {
		tr.cat.Forget(finals...)
		if h.compaction {
			tr.cat.Retire(h.retire...)
		} else {
			lt.archived = h.upto
			lt.seqs.archived.Store(h.upto)
			if h.positions != nil {
				lt.archivedPos = h.positions
			}
		}
		if err = tr.cat.RefreshTable(context.Background(), lt.name); err == nil {
			err = tr.opts.SyncViews(lt.c)
		}
		if err == nil && !h.compaction {
			err = lt.c.Exec(fmt.Sprintf("DELETE FROM %s WHERE %s <= %d", lt.ident, seqCol, h.upto))
		}
		if err != nil {
			// Not handed over: the files hide again, the old ones show.
			tr.cat.Retire(finals...)
			if h.compaction {
				tr.cat.Forget(h.retire...)
			}
			_ = tr.cat.RefreshTable(context.Background(), lt.name)
			_ = tr.opts.SyncViews(lt.c)
		} else if h.compaction {
			ep = tr.readers.advance()
		}
	}
	if err == nil {
		lt.gen.Add(1)
		lt.signal()
	}
	tr.handover.Unlock()
	lt.mu.Unlock()
	if err != nil {
		return fmt.Errorf("table %s: hand-over of archived files (done again at the next tick): %w", lt.name, err)
	}
	lt.unfinished = nil
	lt.mu.Lock()
	archived := lt.archived
	lt.mu.Unlock()
	if !h.compaction {
		if err := lt.writeJournal(journal{Archived: archived}); err != nil {
			return err
		}
		return lt.log.Remove(h.segments)
	}
	lt.addPending(h.removes)
	if err := lt.writeJournal(journal{Archived: archived}); err != nil {
		return err
	}
	tr.bg.Add(1)
	go func() {
		defer tr.bg.Done()
		tr.removeRetired(lt, ep, h.removes, h.retire)
	}()
	return nil
}

// writeArchive writes the rows of src (a copy of live rows up to a
// sequence number) as Parquet, one file per partition, under temporary
// names; it returns the renames that put them in place (relative to the
// archive).
func (tr *Tier) writeArchive(ctx context.Context, lt *tbl, src string, upto uint64) ([][2]string, error) {
	t, ok := tr.cat.Snapshot().Table(lt.name)
	if !ok {
		return nil, fmt.Errorf("table %s is gone from the catalog", lt.name)
	}
	var dataCols []string
	for _, c := range t.Columns {
		if !c.Partition {
			dataCols = append(dataCols, connectors.QuoteIdent(c.Name))
		}
	}
	parts := [][]*string{nil} // no partitioning: one file
	if len(lt.decl.PartitionBy) > 0 {
		var err error
		if parts, err = tr.partitions(ctx, lt, src); err != nil {
			return nil, err
		}
	}
	var renames [][2]string
	for i, vals := range parts {
		var dir []string
		where := "true"
		for k, key := range lt.decl.PartitionBy {
			typ := declType(lt.decl, key)
			if vals[k] == nil {
				dir = append(dir, key+"=__HIVE_DEFAULT_PARTITION__")
				where += fmt.Sprintf(" AND %s IS NULL", connectors.QuoteIdent(key))
			} else {
				dir = append(dir, key+"="+*vals[k])
				where += fmt.Sprintf(" AND %s = CAST('%s' AS %s)", connectors.QuoteIdent(key), strings.ReplaceAll(*vals[k], "'", "''"), typ)
			}
		}
		rel := path.Join(dir...)
		name := fmt.Sprintf("part-%020d-%d.parquet", upto, i)
		tmp := path.Join(rel, tmpPrefix+name)
		// The sequence numbers go along, hidden from the table's columns
		// (subscriptions resume from the archive by them).
		q := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s ORDER BY %s", strings.Join(dataCols, ", "), seqCol, src, where, seqCol)
		renames = append(renames, [2]string{tmp, path.Join(rel, name)})
		if err := lt.writeParquet(ctx, q, tmp); err != nil {
			return renames, fmt.Errorf("table %s: archive %s: %w", lt.name, lt.arc.path(path.Join(rel, name)), err)
		}
	}
	return renames, nil
}

func declType(w *catalog.Writable, name string) string {
	for _, c := range w.Columns {
		if strings.EqualFold(c.Name, name) {
			return c.Type
		}
	}
	return "VARCHAR"
}

// partitions lists the distinct partition values of the rows of src, as
// text (nil: NULL).
func (tr *Tier) partitions(ctx context.Context, lt *tbl, src string) ([][]*string, error) {
	cols := make([]string, len(lt.decl.PartitionBy))
	for i, k := range lt.decl.PartitionBy {
		cols[i] = fmt.Sprintf("CAST(%s AS VARCHAR)", connectors.QuoteIdent(k))
	}
	rows, err := lt.arch.Query(ctx, fmt.Sprintf("SELECT DISTINCT %s FROM %s", strings.Join(cols, ", "), src))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]*string
	for rows.Next() {
		rec := rows.RecordBatch()
		for r := range int(rec.NumRows()) {
			vals := make([]*string, rec.NumCols())
			for c := range vals {
				col := rec.Column(c).(*array.String)
				if !col.IsNull(r) {
					v := strings.Clone(col.Value(r))
					vals[c] = &v
				}
			}
			out = append(out, vals)
		}
	}
	return out, rows.Err()
}

// writeParquet writes a query's result as the archive's file rel, durably.
func (lt *tbl) writeParquet(ctx context.Context, query, rel string) error {
	rows, err := lt.arch.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	return lt.arc.write(ctx, rel, func(f io.Writer) error {
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithStats(true),
			parquet.WithMaxRowGroupLength(1<<20))
		// The writer closes what it writes to: give it f without Close, so
		// f can still be made durable.
		w, err := pqarrow.NewFileWriter(rows.Schema(), struct{ io.Writer }{f}, props, pqarrow.DefaultWriterProps())
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := w.WriteBuffered(rows.RecordBatch()); err != nil {
				_ = w.Close()
				return err
			}
		}
		if err := rows.Err(); err != nil {
			_ = w.Close()
			return err
		}
		return w.Close()
	})
}
