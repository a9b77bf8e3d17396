//go:build duckdb_arrow

package live

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// Parquet files (one per partition) under temporary names, fsynced, then,
// in one step that queries cannot straddle, renamed into the table's
// directory, added to the catalog and removed from the live tier. The
// write-ahead log segments they came from are removed last.
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
		err = lt.writeJournal(journal{Archived: upto, Renames: renames})
	}
	if err != nil {
		for _, r := range renames {
			_ = os.Remove(filepath.Join(lt.root, r[0]))
		}
		return err
	}
	// The hand-over: no query plans or starts meanwhile.
	lt.mu.Lock()
	tr.handover.Lock()
	err = tr.publish(lt, renames, upto)
	tr.handover.Unlock()
	lt.mu.Unlock()
	if err != nil {
		return err
	}
	if err := lt.writeJournal(journal{Archived: upto}); err != nil {
		return err
	}
	return lt.log.Remove(old)
}

// publish renames a tick's files into place, refreshes the catalog and the
// views, and drops the archived rows from the live tier. lt.mu and
// tr.handover are held.
func (tr *Tier) publish(lt *tbl, renames [][2]string, upto uint64) error {
	dirs := map[string]bool{}
	for _, r := range renames {
		final := filepath.Join(lt.root, r[1])
		if err := os.Rename(filepath.Join(lt.root, r[0]), final); err != nil {
			return err
		}
		dirs[filepath.Dir(final)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	lt.archived = upto
	if err := tr.cat.RefreshTable(context.Background(), lt.name); err != nil {
		return err
	}
	if err := tr.opts.SyncViews(lt.c); err != nil {
		return err
	}
	if err := lt.c.Exec(fmt.Sprintf("DELETE FROM %s WHERE %s <= %d", lt.ident, seqCol, upto)); err != nil {
		return err
	}
	lt.gen.Add(1)
	return nil
}

// writeArchive writes the rows of src (a copy of live rows up to a
// sequence number) as Parquet, one file per partition, under temporary
// names; it returns the renames that put them in place (relative to the
// root).
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
		rel := filepath.Join(dir...)
		name := fmt.Sprintf("part-%020d-%d.parquet", upto, i)
		tmp := filepath.Join(rel, tmpPrefix+name)
		if err := os.MkdirAll(filepath.Join(lt.root, rel), 0o755); err != nil {
			return renames, err
		}
		q := fmt.Sprintf("SELECT %s FROM %s WHERE %s ORDER BY %s", strings.Join(dataCols, ", "), src, where, seqCol)
		renames = append(renames, [2]string{tmp, filepath.Join(rel, name)})
		if err := lt.writeParquet(ctx, q, filepath.Join(lt.root, tmp)); err != nil {
			return renames, fmt.Errorf("table %s: archive %s: %w", lt.name, filepath.Join(lt.root, rel, name), err)
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

// writeParquet writes a query's result to path and fsyncs it.
func (lt *tbl) writeParquet(ctx context.Context, query, path string) (err error) {
	rows, err := lt.arch.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(1<<20))
	// The writer closes what it writes to: give it f without Close, so f
	// can still be fsynced.
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
	if err := w.Close(); err != nil {
		return err
	}
	return f.Sync()
}
