//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/planner"
	"github.com/qry-dev/qry/sql"
	"github.com/qry-dev/qry/storage"
)

// A result can be read in parts, each by its own request, on any replica
// that sees the same files: a Flight endpoint per part, which Dask, Ray or
// Spark workers read side by side. Partitions decides the parts; a Part,
// given to Query through WithPart, restricts the statement's table to the
// part's files.

// Defaults of Options.PartitionBytes and MaxPartitions.
const (
	DefaultPartitionBytes = 256 << 20
	DefaultMaxPartitions  = 1024
)

// ErrReplan is returned for a part whose files changed since it was
// planned (a compaction replaced them, or they were removed): the part
// cannot be read as planned, and a partial answer would be wrong.
var ErrReplan = fault.New(fault.Stale, "the files of this part changed since the query was planned: plan the query again")

// Partitioning is how a statement's result is read.
type Partitioning struct {
	// Table is the table the parts split ("" when the statement is read in
	// one piece).
	Table string
	// Parts are the parts; nil when the statement is read in one piece.
	Parts []Part
	// Reason says why the statement is read in one piece.
	Reason string
	// Ordered is true when the result has an order (ORDER BY).
	Ordered bool
}

// Part is one part of a result: the statement over some files of one
// table.
type Part struct {
	Table string
	Files []FileRef
	Bytes int64
	Rows  int64
}

// FileRef names a file as the catalog listed it when the part was planned:
// a part is read only while each file is still the same.
type FileRef struct {
	Path    string
	Size    int64
	ModTime time.Time
	ETag    string
	// Rows, when set, are the rows [Rows.Start, Rows.End) of the file, by
	// number: a piece of a large Parquet file.
	Rows *catalog.RowRange
}

// PartitionOptions override Options.PartitionBytes and MaxPartitions for
// one statement (a client asking for smaller parts, or a number of them).
// A request is bounded by Options.MaxPartitions.
type PartitionOptions struct {
	Bytes int64
	// Parts asks for about this many parts (instead of Bytes).
	Parts int
	// PieceRows is the fewest rows in a piece of a large Parquet file (0:
	// planner.DefaultPieceRows).
	PieceRows int64
}

// Partitions decides how the result of text is read: in one piece, or in
// parts whose results, put together, are the result. Only a per-row
// filter or projection of one catalog table without live rows is split
// (see planner.Partition); its predicates prune the files first. The
// statement must pass the sandbox (Describe it first).
func (e *Engine) Partitions(ctx context.Context, text string, opts PartitionOptions) (*Partitioning, error) {
	split, err := e.split(ctx, text, opts)
	if err != nil || split == nil {
		return &Partitioning{Reason: "not a SELECT qry can analyse"}, err
	}
	p := &Partitioning{Reason: split.Reason, Ordered: split.Ordered}
	if len(split.Parts) < 2 {
		return p, nil
	}
	p.Table = split.Table
	for _, sp := range split.Parts {
		part := Part{Table: split.Table, Bytes: sp.Bytes, Rows: sp.Rows}
		for _, f := range sp.Files {
			part.Files = append(part.Files, FileRef{Path: f.Path, Size: f.Size, ModTime: f.ModTime, ETag: f.ETag, Rows: f.Range})
		}
		p.Parts = append(p.Parts, part)
	}
	return p, nil
}

// split is the planner's split of text, or nil for a statement it cannot
// analyse (anything but one SELECT).
func (e *Engine) split(ctx context.Context, text string, opts PartitionOptions) (*planner.Split, error) {
	explain, inner, err := sql.SplitExplain(text)
	if err != nil || explain != "" {
		return nil, nil
	}
	st, err := e.parse(ctx, inner)
	if err != nil {
		return nil, nil
	}
	split := planner.Partition(st, e.plannerEnv(e.cat.Snapshot()), e.isAggregate, e.splitOptions(opts))
	return &split, nil
}

func (e *Engine) splitOptions(opts PartitionOptions) planner.SplitOptions {
	so := planner.SplitOptions{Bytes: e.opts.PartitionBytes, Max: e.opts.MaxPartitions, Parts: opts.Parts, PieceRows: opts.PieceRows}
	if so.Bytes <= 0 {
		so.Bytes = DefaultPartitionBytes
	}
	if so.Max <= 0 {
		so.Max = DefaultMaxPartitions
	}
	if opts.Bytes > 0 {
		so.Bytes = opts.Bytes
	}
	return so
}

// plannerEnv is what the planner needs of the engine for a snapshot.
func (e *Engine) plannerEnv(snap *catalog.Snapshot) planner.Env {
	return planner.Env{Snapshot: snap, Queryable: e.hasView, Scan: e.tableExpr, Live: e.live.Has}
}

type partKey struct{}

// WithPart makes Query read only part's files of its table.
func WithPart(ctx context.Context, part *Part) context.Context {
	return context.WithValue(ctx, partKey{}, part)
}

func partOf(ctx context.Context) *Part {
	p, _ := ctx.Value(partKey{}).(*Part)
	return p
}

// partFiles finds a part's files in a snapshot: each must be there as the
// part names it (same size, time and version tag), else ErrReplan.
func partFiles(snap *catalog.Snapshot, part *Part) ([]*catalog.File, error) {
	t, ok := snap.Table(part.Table)
	if !ok {
		return nil, fmt.Errorf("table %s: %w", part.Table, ErrReplan)
	}
	byPath := make(map[string]*catalog.File, len(t.Files))
	for _, f := range t.Files {
		byPath[f.Path] = f
	}
	files := make([]*catalog.File, 0, len(part.Files))
	for _, ref := range part.Files {
		f, ok := byPath[ref.Path]
		if !ok || f.Size != ref.Size || !f.ModTime.Equal(ref.ModTime) || f.ETag != ref.ETag {
			return nil, fmt.Errorf("table %s, file %s: %w", t.Name, ref.Path, ErrReplan)
		}
		if ref.Rows != nil {
			piece := *f
			piece.Range = ref.Rows
			f = &piece
		}
		files = append(files, f)
	}
	return files, nil
}

// changedOnDisk finds a local file of part that is no longer as planned
// (the catalog may not have seen the change yet). Objects need no look:
// the engine reads an object only as the catalog listed it (objects.go).
func changedOnDisk(part *Part) error {
	for _, ref := range part.Files {
		if storage.IsRemote(ref.Path) {
			continue
		}
		st, err := os.Stat(ref.Path)
		if err != nil || st.Size() != ref.Size || !st.ModTime().Equal(ref.ModTime) {
			return fmt.Errorf("table %s, file %s: %w", part.Table, ref.Path, ErrReplan)
		}
	}
	return nil
}

// only restricts the planner to ctx's part, if any. A part whose files the
// catalog does not list as planned is checked again after a refresh: this
// replica may not have seen the files another one planned with. A part
// whose files changed on disk is refused (and the catalog refreshed).
func (e *Engine) only(ctx context.Context, snap *catalog.Snapshot) (*catalog.Snapshot, map[string][]*catalog.File, error) {
	part := partOf(ctx)
	if part == nil {
		return snap, nil, nil
	}
	if err := changedOnDisk(part); err != nil {
		_ = e.cat.Refresh(ctx)
		return nil, nil, err
	}
	files, err := partFiles(snap, part)
	if err != nil {
		if rerr := e.cat.Refresh(ctx); rerr != nil {
			return nil, nil, err
		}
		snap = e.cat.Snapshot()
		if files, err = partFiles(snap, part); err != nil {
			return nil, nil, err
		}
	}
	if e.live.Has(part.Table) {
		return nil, nil, fmt.Errorf("table %s has live rows: it is read in one piece", part.Table)
	}
	return snap, map[string][]*catalog.File{strings.ToLower(part.Table): files}, nil
}
