package planner

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"
	"strings"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
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
	// Parts, when set, asks for about this many parts instead: Bytes is
	// then what the kept files weigh over Parts.
	Parts int
	// Max bounds the number of parts.
	Max int
	// PieceRows is the fewest rows a piece of a large Parquet file holds
	// (0: DefaultPieceRows).
	PieceRows int64
	// SmallBytes is the most another table of a join may weigh for the
	// join to be split (0: DefaultSmallBytes).
	SmallBytes int64
}

// DefaultPieceRows is the fewest rows in a piece of a large Parquet file:
// about a row group of DuckDB's (122,880 rows), the unit its reader skips.
const DefaultPieceRows = 100_000

// Partition decides whether st can be split, and into which parts. A
// statement is split only when that cannot change its answer: a per-row
// filter or projection (sql.NotPerRow) of one catalog table that has no
// live rows. Its predicates prune files first. A kept Parquet file larger
// than Bytes is cut into pieces by row number (catalog.RowRange), of at
// least PieceRows rows; the files and pieces are then packed into about
// total/Bytes parts of even size (largest first, each into the lightest
// part), at most Max and at most one per file or piece.
func Partition(st *sql.Statement, env Env, aggregate func(string) bool, opts SplitOptions) Split {
	snap := env.Snapshot
	s := Split{Ordered: sql.Ordered(st)}
	if why := sql.NotPerRow(st, aggregate); why != "" {
		s.Reason = "not a per-row filter or projection: " + why
		return s
	}
	a := sql.Analyze(st, func(name string) ([]string, bool) {
		t, ok := snap.Table(name)
		if !ok || !env.Queryable(t.Name) {
			return nil, false
		}
		return columnNames(t), true
	})
	if len(a.Refs) == 0 {
		s.Reason = "it reads no catalog table"
		return s
	}
	i, why := splitRef(snap, env, a.Refs, opts)
	if why != "" {
		s.Reason = why
		return s
	}
	r := a.Refs[i]
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
	kept := prune(t, r.Pred, i, r.NullSupplying)
	var total int64
	for _, f := range kept {
		total += f.Size
	}
	bytes, most := opts.Bytes, opts.Max
	if opts.Parts > 0 {
		bytes = max(1, (total+int64(opts.Parts)-1)/int64(opts.Parts))
		most = opts.Parts
		if opts.Max > 0 {
			most = min(most, opts.Max)
		}
	}
	pieces := kept
	if t.Format == "parquet" && bytes > 0 {
		pieces = cut(kept, bytes, opts.PieceRows)
	}
	n := 1
	if bytes > 0 {
		n = int((total + bytes - 1) / bytes)
	}
	n = min(n, len(pieces))
	if most > 0 {
		n = min(n, most)
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
	s.Parts = pack(pieces, n)
	return s
}

// weight is a file's bytes, or a piece's share of them.
func weight(f *catalog.File) int64 {
	if f.Range == nil || f.Rows == 0 {
		return f.Size
	}
	return f.Size * (f.Range.End - f.Range.Start) / f.Rows
}

// rows is a file's rows, or a piece's.
func rows(f *catalog.File) int64 {
	if f.Range == nil {
		return f.Rows
	}
	return f.Range.End - f.Range.Start
}

// cut cuts each file larger than bytes into pieces of about bytes, by row
// number, each of at least minRows rows. A file whose row count is not
// exact (Inexact) stays whole.
func cut(files []*catalog.File, bytes, minRows int64) []*catalog.File {
	if minRows <= 0 {
		minRows = DefaultPieceRows
	}
	var out []*catalog.File
	for _, f := range files {
		k := (f.Size + bytes - 1) / bytes
		k = min(k, f.Rows/minRows)
		if k < 2 || f.Inexact || hasRowNumberColumn(f) {
			out = append(out, f)
			continue
		}
		for i := range k {
			p := *f // Size and Rows stay the file's: it is named as listed
			p.Range = &catalog.RowRange{Start: f.Rows * i / k, End: f.Rows * (i + 1) / k}
			out = append(out, &p)
		}
	}
	return out
}

// hasRowNumberColumn says f has a column of its own named as the virtual
// column pieces are cut by: DuckDB refuses file_row_number on such a file,
// so it is read whole.
func hasRowNumberColumn(f *catalog.File) bool {
	return slices.ContainsFunc(f.Columns, func(c connectors.Column) bool { return strings.EqualFold(c.Name, "file_row_number") })
}

// DefaultSmallBytes is the most a table joined to the one split may weigh
// (its kept files): every part reads it whole.
const DefaultSmallBytes = 64 << 20

// splitRef picks the reference to split: the only one, or, in a join, the
// largest reference that is on a preserved side of every join (never
// NULL-supplying: a row of the other side without a match would come out
// of every part), rewritable, and the only reference to its table; every
// other table must be small (SmallBytes) and without live rows, as each
// part reads it whole. why says why none fits.
func splitRef(snap *catalog.Snapshot, env Env, refs []sql.Ref, opts SplitOptions) (int, string) {
	if len(refs) == 1 {
		if refs[0].Start < 0 {
			return 0, "its table reference cannot be rewritten"
		}
		return 0, ""
	}
	small := opts.SmallBytes
	if small <= 0 {
		small = DefaultSmallBytes
	}
	sizes := make([]int64, len(refs))
	count := map[string]int{}
	for i, r := range refs {
		t, _ := snap.Table(r.Table)
		for _, f := range prune(t, r.Pred, i, r.NullSupplying) {
			sizes[i] += f.Size
		}
		count[strings.ToLower(t.Name)]++
	}
	best := -1
	for i, r := range refs {
		if r.Start >= 0 && !r.NullSupplying && count[strings.ToLower(r.Table)] == 1 && (best < 0 || sizes[i] > sizes[best]) {
			best = i
		}
	}
	if best < 0 {
		return 0, "a join with no table on a preserved side to split (outer joins, or a table joined to itself)"
	}
	for i, r := range refs {
		if i == best {
			continue
		}
		if env.Live(r.Table) {
			return 0, "a join with a writable table's live rows"
		}
		if sizes[i] > small {
			return 0, fmt.Sprintf("a join of %s with %s, which is not small (over %d MiB): only a join with small tables is split", refs[best].Table, r.Table, small>>20)
		}
	}
	return best, ""
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
	slices.SortStableFunc(order, func(a, b *catalog.File) int { return cmp.Compare(weight(b), weight(a)) })
	h := make(partHeap, n)
	for i := range h {
		h[i] = &heapPart{index: i}
	}
	for _, f := range order {
		p := h[0]
		p.Files = append(p.Files, f)
		p.Bytes += weight(f)
		p.Rows += rows(f)
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
