//go:build duckdb_arrow

package live

import (
	"context"
	"fmt"
	"os"
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
	var renames [][2]string
	var removes []string // relative to the root
	var retired []string // as the catalog names them
	cleanup := func() {
		for _, r := range renames {
			_ = os.Remove(filepath.Join(lt.root, r[0]))
		}
	}
	stamp := time.Now().UnixNano()
	for i, g := range groups {
		scan, err := tr.opts.Scan(t, g)
		if err != nil {
			cleanup()
			return 0, err
		}
		dir := filepath.Dir(g[0].Path)
		rel, err := filepath.Rel(lt.root, dir)
		if err != nil {
			cleanup()
			return 0, err
		}
		name := fmt.Sprintf("compact-%020d-%d.parquet", archiveSeq(g[len(g)-1]), stamp+int64(i))
		tmp := filepath.Join(rel, tmpPrefix+name)
		renames = append(renames, [2]string{tmp, filepath.Join(rel, name)})
		q := fmt.Sprintf("SELECT %s FROM %s", strings.Join(dataCols, ", "), scan)
		if err := lt.writeParquet(ctx, q, filepath.Join(lt.root, tmp)); err != nil {
			cleanup()
			return 0, fmt.Errorf("table %s: compacting %s: %w", lt.name, dir, err)
		}
		for _, f := range g {
			r, _ := filepath.Rel(lt.root, f.Path)
			removes = append(removes, r)
			retired = append(retired, f.Path)
		}
	}
	lt.mu.Lock()
	archived := lt.archived
	lt.mu.Unlock()
	// From here a crash finishes the swap at the next start.
	if err := lt.writeJournal(journal{Archived: archived, Renames: renames, Removes: removes}); err != nil {
		cleanup()
		return 0, err
	}
	lt.mu.Lock()
	tr.handover.Lock()
	ep, err := tr.swapIn(lt, renames, retired)
	tr.handover.Unlock()
	lt.mu.Unlock()
	if err != nil {
		return 0, err
	}
	lt.addPending(removes)
	if err := lt.writeJournal(journal{Archived: archived}); err != nil {
		return 0, err
	}
	tr.bg.Add(1)
	go func() {
		defer tr.bg.Done()
		tr.removeRetired(lt, ep, removes, retired)
	}()
	return len(removes), nil
}

// swapIn renames merged files into place and has the catalog list them
// instead of the files they replace. lt.mu and tr.handover are held.
func (tr *Tier) swapIn(lt *tbl, renames [][2]string, retired []string) (uint64, error) {
	dirs := map[string]bool{}
	for _, r := range renames {
		final := filepath.Join(lt.root, r[1])
		if err := os.Rename(filepath.Join(lt.root, r[0]), final); err != nil {
			return 0, err
		}
		dirs[filepath.Dir(final)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return 0, err
		}
	}
	tr.cat.Retire(retired...)
	if err := tr.cat.RefreshTable(context.Background(), lt.name); err != nil {
		return 0, err
	}
	if err := tr.opts.SyncViews(lt.c); err != nil {
		return 0, err
	}
	lt.gen.Add(1)
	return tr.readers.advance(), nil
}

// removeRetired deletes the files a compaction replaced once no query of
// epoch ep or earlier runs. If the engine closes first, they stay listed
// in the journal and the next start removes them.
func (tr *Tier) removeRetired(lt *tbl, ep uint64, removes, retired []string) {
	if err := tr.readers.waitFor(tr.bgCtx, ep); err != nil {
		return
	}
	dirs := map[string]bool{}
	for _, r := range removes {
		p := filepath.Join(lt.root, r)
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			tr.log.Warn("compaction: old file not removed", "table", lt.name, "file", p, "err", err)
			return
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		_ = syncDir(d)
	}
	tr.cat.Forget(retired...)
	lt.donePending(removes)
	lt.work.Lock()
	defer lt.work.Unlock()
	lt.mu.Lock()
	archived := lt.archived
	lt.mu.Unlock()
	if err := lt.writeJournal(journal{Archived: archived}); err != nil {
		tr.log.Warn("compaction: journal not updated", "table", lt.name, "err", err)
	}
}
