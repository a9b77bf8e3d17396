//go:build duckdb_arrow

package live

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
)

// compactMinFiles is how many small files a partition of a writable table
// gathers before the tick compacts it. A file is small below half the
// table's target file size.
const compactMinFiles = 8

// archiveName matches the files qry writes into a writable table: a tick's
// (part-) and a compaction's (compact-), numbered by the last sequence
// number they hold. Compaction leaves every other file alone.
var archiveName = regexp.MustCompile(`^(?:part|compact)-(\d{20})-\d+\.parquet$`)

// readers counts the queries running in each epoch. A compaction starts a
// new epoch when it swaps files, and removes the replaced files once no
// query of an earlier epoch runs: a query that planned with them may read
// them until its end.
type readers struct {
	mu    sync.Mutex
	epoch uint64
	n     map[uint64]int
}

func (r *readers) enter() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[uint64]int{}
	}
	r.n[r.epoch]++
	return r.epoch
}

func (r *readers) leave(ep uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n[ep]--; r.n[ep] <= 0 {
		delete(r.n, ep)
	}
}

// advance starts a new epoch and returns the one it closed.
func (r *readers) advance() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch++
	return r.epoch - 1
}

// busy reports whether a query of epoch ep or earlier still runs.
func (r *readers) busy(ep uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.n {
		if k <= ep {
			return true
		}
	}
	return false
}

// waitFor waits until no query of epoch ep or earlier runs, or ctx ends.
func (r *readers) waitFor(ctx context.Context, ep uint64) error {
	for r.busy(ep) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// compactGroups picks, per directory, runs of small archive files to merge
// into files of at most the target size. With min > 0, a directory is
// picked only once it has that many small files.
func compactGroups(t *catalog.Table, target int64, min int) [][]*catalog.File {
	byDir := map[string][]*catalog.File{}
	for _, f := range t.Files {
		if f.Size < target/2 && archiveName.MatchString(filepath.Base(f.Path)) {
			d := filepath.Dir(f.Path)
			byDir[d] = append(byDir[d], f)
		}
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var groups [][]*catalog.File
	for _, d := range dirs {
		files := byDir[d]
		if len(files) < max(min, 2) {
			continue
		}
		// Oldest first, so the merged file keeps the write order.
		sort.Slice(files, func(i, j int) bool { return archiveSeq(files[i]) < archiveSeq(files[j]) })
		var cur []*catalog.File
		var size int64
		for _, f := range files {
			if len(cur) > 0 && size+f.Size > target {
				if len(cur) > 1 {
					groups = append(groups, cur)
				}
				cur, size = nil, 0
			}
			cur = append(cur, f)
			size += f.Size
		}
		if len(cur) > 1 {
			groups = append(groups, cur)
		}
	}
	return groups
}

func archiveSeq(f *catalog.File) uint64 {
	m := archiveName.FindStringSubmatch(filepath.Base(f.Path))
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// Compact merges a writable table's small archive files, per partition,
// into files of up to the table's target size, and swaps them in for
// queries in one step: a query reads either the old files or the merged
// one. The old files are removed once no query that may read them runs.
// It returns the number of files merged away.
func (tr *Tier) Compact(ctx context.Context, table string) (int, error) {
	lt, ok := tr.tables[strings.ToLower(table)]
	if !ok {
		return 0, fmt.Errorf("%s: %w", table, ErrNotWritable)
	}
	if lt.follower {
		return 0, lt.openLog()
	}
	lt.work.Lock()
	defer lt.work.Unlock()
	return tr.compact(ctx, lt, 0)
}

// compact is Compact with lt.work held; min as in compactGroups.
func (tr *Tier) compact(ctx context.Context, lt *tbl, min int) (int, error) {
	if err := tr.finish(ctx, lt); err != nil {
		return 0, err
	}
	t, ok := tr.cat.Snapshot().Table(lt.name)
	if !ok {
		return 0, fmt.Errorf("table %s is gone from the catalog", lt.name)
	}
	groups := compactGroups(t, lt.decl.TargetFileSize, min)
	if len(groups) == 0 {
		return 0, nil
	}
	var dataCols []string
	for _, c := range t.Columns {
		if !c.Partition {
			dataCols = append(dataCols, connectors.QuoteIdent(c.Name))
		}
	}
	h := &pendingHandover{compaction: true}
	cleanup := func() {
		tmps := make([]string, len(h.renames))
		for i, r := range h.renames {
			tmps[i] = r[0]
		}
		_ = lt.arc.remove(ctx, tmps)
	}
	stamp := time.Now().UnixNano()
	for i, g := range groups {
		scan, err := tr.opts.Scan(t, g, seqHidden)
		if err != nil {
			cleanup()
			return 0, err
		}
		first, err := lt.arc.rel(g[0].Path)
		if err != nil {
			cleanup()
			return 0, err
		}
		dir := path.Dir(first)
		name := fmt.Sprintf("compact-%020d-%d.parquet", archiveSeq(g[len(g)-1]), stamp+int64(i))
		tmp := path.Join(dir, tmpPrefix+name)
		h.renames = append(h.renames, [2]string{tmp, path.Join(dir, name)})
		// The rows keep their sequence numbers, in order (subscriptions
		// resume from the archive by them).
		q := fmt.Sprintf("SELECT %s, %s FROM %s ORDER BY %s", strings.Join(dataCols, ", "), seqCol, scan, seqCol)
		if err := lt.writeParquet(ctx, q, tmp); err != nil {
			cleanup()
			return 0, fmt.Errorf("table %s: compacting %s: %w", lt.name, lt.arc.path(dir), err)
		}
		for _, f := range g {
			r, err := lt.arc.rel(f.Path)
			if err != nil {
				cleanup()
				return 0, err
			}
			h.removes = append(h.removes, r)
			h.retire = append(h.retire, f.Path)
		}
	}
	lt.mu.Lock()
	archived := lt.archived
	lt.mu.Unlock()
	// From here a crash finishes the swap at the next start.
	if err := lt.writeJournal(journal{Archived: archived, Renames: h.renames, Removes: h.removes}); err != nil {
		cleanup()
		return 0, err
	}
	if err := tr.handOver(ctx, lt, h); err != nil {
		return 0, err
	}
	return len(h.removes), nil
}

// removeRetired deletes the files a compaction replaced once no query of
// epoch ep or earlier runs. If the engine closes first, they stay listed
// in the journal and the next start removes them.
func (tr *Tier) removeRetired(lt *tbl, ep uint64, removes, retired []string) {
	if err := tr.readers.waitFor(tr.bgCtx, ep); err != nil {
		return
	}
	if err := lt.arc.remove(tr.bgCtx, removes); err != nil {
		tr.log.Warn("compaction: old files not removed", "table", lt.name, "err", err)
		return
	}
	tr.cat.Forget(retired...)
	lt.donePending(removes)
	lt.work.Lock()
	defer lt.work.Unlock()
	if lt.unfinished != nil {
		return // its journal stands until it is done
	}
	lt.mu.Lock()
	archived := lt.archived
	lt.mu.Unlock()
	if err := lt.writeJournal(journal{Archived: archived}); err != nil {
		tr.log.Warn("compaction: journal not updated", "table", lt.name, "err", err)
	}
}
