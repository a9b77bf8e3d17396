package planner

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/sql"
)

// Split is how a statement's result can be read in parts, each by its own
// request (a Flight endpoint): Parts are groups of the one table's files,
// and the statement run over each group, put together, is the statement's
// result. With fewer than two Parts the statement is read in one piece,
// and Reason says why.
type Split struct {
	Table   string
	Parts   []Part
	Reason  string
	Ordered bool // the result has an order (then it is never split)
}

// Part is one group of files of a Split.
type Part struct {
	Files []*catalog.File
	Bytes int64
	Rows  int64
}

// SplitOptions bound a Split.
type SplitOptions struct {
	// Bytes is the target size of a part (the files' bytes on storage).
	Bytes int64
	// Max bounds the number of parts.
	Max int
}

// Partition decides whether st can be split, and into which parts. A
// statement is split only when that cannot change its answer: a per-row
// filter or projection (sql.NotPerRow) of one catalog table that has no
// live rows. Its predicates prune files first; the kept files are then
// packed into about total/Bytes parts of even size (largest first, each
// into the lightest part), at most Max and at most one per file.
func Partition(st *sql.Statement, env Env, aggregate func(string) bool, opts SplitOptions) Split {
	snap := env.Snapshot
	a := sql.Analyze(st, func(name string) ([]string, bool) {
		t, ok := snap.Table(name)
		if !ok || !env.Queryable(t.Name) {
			return nil, false
		}
		return columnNames(t), true
	})
	s := Split{Ordered: sql.Ordered(st)}
	if why := sql.NotPerRow(st, aggregate); why != "" {
		s.Reason = "not a per-row filter or projection of one table: " + why
		return s
	}
	if len(a.Refs) != 1 || a.Refs[0].Start < 0 {
		s.Reason = "it reads no catalog table"
		return s
	}
	r := a.Refs[0]
	t, _ := snap.Table(r.Table)
	s.Table = t.Name
	switch {
	case env.Live(t.Name):
		s.Reason = "a writable table's live rows are read in one piece"
		return s
	case nulColumn(t):
		s.Reason = "a column name with a NUL byte cannot be written in a rewrite"
		return s
	}
	kept := prune(t, r.Pred, 0, r.NullSupplying)
	var total int64
	for _, f := range kept {
		total += f.Size
	}
	n := 1
	if opts.Bytes > 0 {
		n = int((total + opts.Bytes - 1) / opts.Bytes)
	}
	n = min(n, len(kept))
	if opts.Max > 0 {
		n = min(n, opts.Max)
	}
	if n < 2 {
		s.Reason = "what it reads fits in one part"
		if len(kept) < 2 {
			s.Reason = fmt.Sprintf("it reads %d file", len(kept))
			if len(kept) == 0 {
				s.Reason = "it reads no file"
			}
		}
		return s
	}
	s.Parts = pack(kept, n)
	return s
}

func columnNames(t *catalog.Table) []string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
	}
	return cols
}

// pack puts files into n parts of even bytes: the largest file first, each
// into the part with the fewest bytes so far. Each part lists its files in
// the catalog's order.
func pack(files []*catalog.File, n int) []Part {
	order := slices.Clone(files)
	slices.SortStableFunc(order, func(a, b *catalog.File) int { return cmp.Compare(b.Size, a.Size) })
	h := make(partHeap, n)
	for i := range h {
		h[i] = &heapPart{index: i}
	}
	for _, f := range order {
		p := h[0]
		p.Files = append(p.Files, f)
		p.Bytes += f.Size
		p.Rows += f.Rows
		heap.Fix(&h, 0)
	}
	pos := make(map[*catalog.File]int, len(files))
	for i, f := range files {
		pos[f] = i
	}
	parts := make([]Part, 0, n)
	slices.SortFunc(h, func(a, b *heapPart) int { return cmp.Compare(a.index, b.index) })
	for _, p := range h {
		slices.SortFunc(p.Files, func(a, b *catalog.File) int { return cmp.Compare(pos[a], pos[b]) })
		parts = append(parts, p.Part)
	}
	// The parts in the order of their first file, for a stable listing.
	slices.SortFunc(parts, func(a, b Part) int { return cmp.Compare(pos[a.Files[0]], pos[b.Files[0]]) })
	return parts
}

type heapPart struct {
	Part
	index int
}

type partHeap []*heapPart

func (h partHeap) Len() int { return len(h) }
func (h partHeap) Less(i, j int) bool {
	if h[i].Bytes != h[j].Bytes {
		return h[i].Bytes < h[j].Bytes
	}
	return h[i].index < h[j].index
}
func (h partHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *partHeap) Push(x any)   { *h = append(*h, x.(*heapPart)) }
func (h *partHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// String renders the split for EXPLAIN: one line.
func (s Split) String() string {
	if len(s.Parts) < 2 {
		return "partitions: 1 (" + s.Reason + ")\n"
	}
	return fmt.Sprintf("partitions: %d of %s\n", len(s.Parts), s.Table)
}
