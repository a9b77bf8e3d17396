//go:build duckdb_arrow

package live

import (
	"fmt"
	"strings"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
)

// Watch tells a subscriber that a writable table changed: a write was
// committed or a tick handed rows over to the archive. Signals coalesce
// (C holds at most one), and a writer never waits for a watcher.
type Watch struct {
	// C receives a value after each change; a slow reader sees one for
	// many.
	C   <-chan struct{}
	c   chan struct{}
	lts []*tbl
}

// Watch starts watching tables; Stop ends it.
func (tr *Tier) Watch(tables ...string) (*Watch, error) {
	c := make(chan struct{}, 1)
	w := &Watch{C: c, c: c}
	for _, table := range tables {
		lt, ok := tr.tables[strings.ToLower(table)]
		if !ok {
			return nil, fmt.Errorf("%s: %w", table, ErrNotWritable)
		}
		w.lts = append(w.lts, lt)
	}
	for _, lt := range w.lts {
		lt.wmu.Lock()
		if lt.watchers == nil {
			lt.watchers = map[*Watch]struct{}{}
		}
		lt.watchers[w] = struct{}{}
		lt.wmu.Unlock()
	}
	return w, nil
}

// Stop ends the watch. It may be called more than once.
func (w *Watch) Stop() {
	for _, lt := range w.lts {
		lt.wmu.Lock()
		delete(lt.watchers, w)
		lt.wmu.Unlock()
	}
}

// signal wakes every watcher without waiting for any.
func (lt *tbl) signal() {
	lt.wmu.Lock()
	defer lt.wmu.Unlock()
	for w := range lt.watchers {
		select {
		case w.c <- struct{}{}:
		default:
		}
	}
}

// Seqs are how far a writable table is written and archived: rows up to
// Written are acknowledged, those up to Archived are in archive files
// (with their sequence numbers in the hidden column catalog.SeqColumn),
// the rest in the live table. Call it while a Read is between BeginRead
// and Started for Archived to stay true while a query plans.
type Seqs struct{ Written, Archived uint64 }

// Seqs reports table's sequence numbers; false when it takes no writes.
// It takes no lock: a hand-over waits for queries between BeginRead and
// Started, so Seqs may be called there.
func (tr *Tier) Seqs(table string) (Seqs, bool) {
	lt, ok := tr.tables[strings.ToLower(table)]
	if !ok {
		return Seqs{}, false
	}
	return Seqs{Written: lt.seqs.written.Load(), Archived: lt.seqs.archived.Load()}, true
}

// LiveSince is the SQL of t's live rows with sequence numbers in (after,
// upto]: t's columns in t's order, then the sequence number
// (catalog.SeqColumn). False when t takes no writes.
func (tr *Tier) LiveSince(t *catalog.Table, after, upto uint64) (string, bool) {
	lt, ok := tr.tables[strings.ToLower(t.Name)]
	if !ok {
		return "", false
	}
	cols := make([]string, 0, len(t.Columns)+1)
	for _, c := range t.Columns {
		cols = append(cols, connectors.QuoteIdent(c.Name))
	}
	cols = append(cols, seqCol)
	return fmt.Sprintf("SELECT %s FROM %s WHERE %s > %d AND %s <= %d", strings.Join(cols, ", "), lt.ident, seqCol, after, seqCol, upto), true
}
