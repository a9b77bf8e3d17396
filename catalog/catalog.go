package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/connectors/csv"
	"github.com/qry-dev/qry/connectors/gdal"
	"github.com/qry-dev/qry/connectors/geojson"
	"github.com/qry-dev/qry/connectors/json"
	"github.com/qry-dev/qry/connectors/parquet"
	"github.com/qry-dev/qry/storage"
)

// Options configure a catalog. The zero value of each field is usable.
type Options struct {
	// Config holds tables declared in qry.yaml; nil means none.
	Config *Config
	// Data are directories whose top-level entries each become a table.
	Data []string
	// CacheDir holds derived files (GeoJSON sidecars); empty means
	// os.UserCacheDir()/qry.
	CacheDir string
	// Threads bounds parallel file inspection; 0 means GOMAXPROCS.
	Threads int
	// S3 overrides the AWS conventions for data roots on object storage
	// (s3://bucket/prefix/); see storage.Config.
	S3 storage.Config
	// ExtensionDir is where DuckDB's httpfs extension is found when a root
	// is on object storage (see connectors.FindExtension).
	ExtensionDir string
	// Logger receives indexing diagnostics; nil discards them.
	Logger *slog.Logger
}

// Column is one column of a table.
type Column struct {
	Name string
	Type string
	// Partition is true for hive partition columns (key=value directories).
	Partition bool
}

// File is one data file of a table with what indexing learnt about it.
type File struct {
	Path    string
	Size    int64
	ModTime time.Time
	// ETag is an object's version tag on object storage ("" for local
	// files): statistics are reused while it stays the same.
	ETag string
	// Partition holds the file's hive partition values by key ("" for
	// __HIVE_DEFAULT_PARTITION__, which reads as NULL).
	Partition map[string]string
	Rows      int64
	// Columns is the file's own schema, which may be narrower than the
	// table's.
	Columns []connectors.Column
	Stats   map[string]connectors.ColumnStats
	BBox    *connectors.BBox
	// BBoxColumn is the geometry column BBox bounds.
	BBoxColumn string
	// Read are the reader options the file is read with (CSV: its
	// dialect); see connectors.FileInfo.
	Read map[string]string
	// Rejects are the lines left out of the file (CSV, on_error: reject).
	Rejects []connectors.Reject
	// Inexact: the file's statistics contradict themselves (see
	// connectors.FileInfo); Rows is the readers' count, but neither it nor
	// Stats may answer a query or prune the file.
	Inexact bool
	// Range, when set, makes this a piece of the file: the rows numbered
	// [Start, End) in it (a part of a large Parquet file read in parts).
	// Catalog files never have one.
	Range *RowRange
}

// RowRange is the rows [Start, End) of a file, by their number in it.
type RowRange struct{ Start, End int64 }

// Problem is a file (or table root) left out of the catalog and why.
type Problem struct {
	Path string
	Err  error
}

func (p Problem) Error() string { return p.Err.Error() }

// Redacted is the problem told to clients that may not read the file: its
// reason without anything quoted from the file (values, column names, the
// original line), since the file is not served. Positions (line numbers)
// stay.
func (p Problem) Redacted() string { return Redact(p.Err.Error(), p.Path) }

// Redact removes from a message about a file everything it quotes, but the
// file's own path or name, and any "Original Line: ..." DuckDB adds.
func Redact(msg, path string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		if rest, ok := strings.CutPrefix(msg[i:], "Original Line:"); ok {
			// DuckDB's CSV errors quote the line up to the end, or to the
			// next part of the message.
			end := len(rest)
			for _, next := range []string{"\n", " Expected Number", " Skipping", " Possible"} {
				if j := strings.Index(rest, next); j >= 0 && j < end {
					end = j
				}
			}
			b.WriteString("Original Line: …")
			i = len(msg) - len(rest) + end
			continue
		}
		c := msg[i]
		if c != '\'' && c != '"' {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(msg[i+1:], c)
		if j < 0 {
			b.WriteString(string(c) + "…")
			break
		}
		quoted := msg[i+1 : i+1+j]
		if quoted == path || quoted == filepath.Base(path) || strings.HasSuffix(path, quoted) && quoted != "" && strings.ContainsRune(quoted, filepath.Separator) {
			b.WriteString(msg[i : i+j+2])
		} else {
			b.WriteString(string(c) + "…" + string(c))
		}
		i += j + 2
	}
	return b.String()
}

// Table is an immutable view of one table.
type Table struct {
	Name   string
	Root   string
	Format string
	// Columns are the data columns (unified across files) followed by the
	// partition columns.
	Columns  []Column
	Files    []*File
	Problems []Problem
	Options  map[string]string
	// Writable is set for tables that take writes (see engine's live tier).
	Writable *Writable
	// Accelerate is the table's declared acceleration (memory, disk; ""
	// when qry.yaml says nothing).
	Accelerate string

	connector connectors.Connector
	defCols   int
}

// Writable describes a writable table: its declared columns, in order, and
// how its archive is laid out.
type Writable struct {
	Columns        []WritableColumn
	Tick           time.Duration
	PartitionBy    []string // declared column names, in directory order
	TargetFileSize int64
	// WAL is the local directory of the write-ahead log, tick journal and
	// writer lock ("": _qry_wal inside the table's local root).
	WAL string
	// Kafka is the topic that feeds the table, if any (its rejected
	// messages go to the table named Name+RejectedSuffix).
	Kafka *KafkaConfig
}

// WritableColumn is a declared column of a writable table.
type WritableColumn struct {
	Name, Type string
	NotNull    bool
}

// Column finds a declared column by name, ignoring case.
func (w *Writable) Column(name string) (WritableColumn, bool) {
	for _, c := range w.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return WritableColumn{}, false
}

// Rows is the table's row count from statistics.
func (t *Table) Rows() int64 {
	var n int64
	for _, f := range t.Files {
		n += f.Rows
	}
	return n
}

// Scan returns a DuckDB table expression reading the given files of the
// table (all of them when files is nil). Its columns are the table's, in
// order, whatever subset of files is read.
//
// via, if not nil, gives the path DuckDB reads each file through (see
// connectors.ScanSpec.Via).
func (t *Table) Scan(files []*File, via func(string) (string, error)) (string, error) {
	return t.ScanWith(files, via, nil)
}

// SeqColumn is the hidden column of a writable table's archive files: the
// sequence number of each row's write (see live). It is not one of the
// table's columns; ScanWith reads it.
const SeqColumn = "_qry_seq"

// ScanWith is Scan with hidden columns of the files after the table's
// (NULL from files without them).
func (t *Table) ScanWith(files []*File, via func(string) (string, error), hidden []Column) (string, error) {
	if files == nil {
		files = t.Files
	}
	// Pieces of files (a Range each) are scans of their own, put together
	// with the whole files' scan.
	var whole, pieces []*File
	for _, f := range files {
		if f.Range != nil {
			pieces = append(pieces, f)
		} else {
			whole = append(whole, f)
		}
	}
	if len(pieces) == 0 {
		return t.scan(files, via, hidden, nil)
	}
	var parts []string
	if len(whole) > 0 {
		s, err := t.scan(whole, via, hidden, nil)
		if err != nil {
			return "", err
		}
		parts = append(parts, "SELECT * FROM "+s)
	}
	for _, f := range pieces {
		s, err := t.scan([]*File{f}, via, hidden, f.Range)
		if err != nil {
			return "", err
		}
		parts = append(parts, "SELECT * FROM "+s)
	}
	return "(" + strings.Join(parts, " UNION ALL ") + ")", nil
}

// scan is ScanWith over files, all whole or (rng set) the one file's rows
// in rng.
func (t *Table) scan(files []*File, via func(string) (string, error), hidden []Column, rng *RowRange) (string, error) {
	if rng != nil && t.Format != "parquet" {
		return "", fmt.Errorf("table %s: a %s file is read whole, not by row numbers", t.Name, t.Format)
	}
	if len(files) == 0 {
		// No readable file: an empty relation with the table's schema.
		if len(t.Columns) == 0 {
			return "", fmt.Errorf("table %s: no readable files", t.Name)
		}
		sel := make([]string, 0, len(t.Columns)+len(hidden))
		for _, c := range append(slices.Clone(t.Columns), hidden...) {
			sel = append(sel, fmt.Sprintf("NULL::%s AS %s", c.Type, connectors.QuoteIdent(c.Name)))
		}
		return "(SELECT " + strings.Join(sel, ", ") + " WHERE false)", nil
	}
	spec := connectors.ScanSpec{Options: t.Options, Uniform: true, Via: via, RowNumbers: rng != nil}
	for _, f := range files {
		spec.Files = append(spec.Files, f.Path)
		spec.FileColumns = append(spec.FileColumns, f.Columns)
		spec.FileRead = append(spec.FileRead, f.Read)
		spec.Uniform = spec.Uniform && slices.Equal(f.Columns, files[0].Columns)
	}
	for _, c := range t.Columns {
		cc := connectors.Column{Name: c.Name, Type: c.Type}
		if c.Partition {
			spec.Partitions = append(spec.Partitions, cc)
		} else {
			spec.Columns = append(spec.Columns, cc)
		}
	}
	inner, err := t.connector.Scan(spec)
	if err != nil {
		return "", fmt.Errorf("table %s: %w", t.Name, err)
	}
	if t.Format == "csv" || t.Format == "json" {
		// The connector reads every file as the table's columns, in order
		// (a column name with a NUL byte could not be projected by name).
		return "(SELECT * FROM " + inner + ")", nil
	}
	// Project the table's columns explicitly, in order, with the table's
	// types: a column no chosen file has reads as NULL, and where the chosen
	// files' widest type differs from the table's (a subset of files), a cast
	// keeps the result's schema the same whatever files are read.
	present := map[string]string{}
	for _, f := range files {
		for _, c := range f.Columns {
			k := strings.ToLower(c.Name)
			if prev, ok := present[k]; ok {
				w, _ := Widen(prev, c.Type, t.Format != "parquet")
				present[k] = w
			} else {
				present[k] = c.Type
			}
		}
	}
	all := append(slices.Clone(t.Columns), hidden...)
	sel := make([]string, len(all))
	for i, c := range all {
		q := connectors.QuoteIdent(c.Name)
		typ, ok := present[strings.ToLower(c.Name)]
		switch {
		case c.Partition || typ == c.Type:
			sel[i] = q
		case !ok:
			sel[i] = fmt.Sprintf("NULL::%s AS %s", c.Type, q)
		default:
			sel[i] = fmt.Sprintf("CAST(%s AS %s) AS %s", q, c.Type, q)
		}
	}
	if rng != nil {
		return fmt.Sprintf("(SELECT %s FROM %s WHERE file_row_number >= %d AND file_row_number < %d)", strings.Join(sel, ", "), inner, rng.Start, rng.End), nil
	}
	return fmt.Sprintf("(SELECT %s FROM %s)", strings.Join(sel, ", "), inner), nil
}

// Snapshot is an immutable view of the whole catalog.
type Snapshot struct {
	// Version grows by one with each refresh that changed anything.
	Version uint64
	// Tables are sorted by name.
	Tables []*Table
	// Problems are roots that could not be read at all.
	Problems []Problem
	byName   map[string]*Table
}

// NewSnapshot is a snapshot of the given tables, for packages that plan
// over a catalog they did not build (tests of the planner).
func NewSnapshot(version uint64, tables ...*Table) *Snapshot {
	s := &Snapshot{Version: version, Tables: tables, byName: map[string]*Table{}}
	for _, t := range tables {
		s.byName[strings.ToLower(t.Name)] = t
	}
	return s
}

// Table finds a table by name, case-insensitively.
func (s *Snapshot) Table(name string) (*Table, bool) {
	t, ok := s.byName[strings.ToLower(name)]
	return t, ok
}

// Catalog maps files to tables. It is safe for concurrent use: readers take
// a Snapshot, Refresh replaces it.
type Catalog struct {
	opts  Options
	log   *slog.Logger
	db    *sql.DB
	conns map[string]connectors.Connector
	exts  map[string]string // extension -> format
	// s3 reads the roots on object storage, through the httpfs extension
	// at httpfs; nil when every root is local.
	s3     *storage.S3
	httpfs string
	mu     sync.Mutex // serializes refreshes
	snap   atomic.Pointer[Snapshot]
	// retired are files still on disk that no table lists any more
	// (compaction replaced them; they go once no query reads them).
	retiredMu sync.Mutex
	retired   map[string]bool
	last      atomic.Pointer[RefreshStats]
}

// RefreshStats describe the last refresh.
type RefreshStats struct {
	At   time.Time     // when it ended
	Took time.Duration // how long it took
	Err  error         // nil if it succeeded
}

// LastRefresh describes the last refresh (zero before the first ends).
func (c *Catalog) LastRefresh() RefreshStats {
	if r := c.last.Load(); r != nil {
		return *r
	}
	return RefreshStats{}
}

// Open indexes every table and returns the catalog. A missing data directory
// or table path is an error; a file that cannot be read is only a Problem of
// its table.
func Open(ctx context.Context, opts Options) (*Catalog, error) {
	if opts.Threads <= 0 {
		opts.Threads = runtime.GOMAXPROCS(0)
	}
	if opts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		opts.CacheDir = filepath.Join(dir, "qry")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := connectors.OpenDB(opts.Threads)
	if err != nil {
		return nil, err
	}
	c := &Catalog{opts: opts, log: log, db: db, conns: map[string]connectors.Connector{}, exts: map[string]string{}}
	for _, conn := range []connectors.Connector{parquet.Connector{}, csv.Connector{}, json.Connector{}, &geojson.Connector{CacheDir: opts.CacheDir}, &gdal.Connector{}} {
		c.conns[conn.Format()] = conn
		for _, e := range conn.Extensions() {
			c.exts[e] = conn.Format()
		}
	}
	c.snap.Store(&Snapshot{byName: map[string]*Table{}})
	if err := c.openStorage(ctx); err != nil {
		db.Close()
		return nil, err
	}
	c.loadSpatial(ctx)
	c.opts.Config = opts.Config.withRejected()
	opts = c.opts
	if opts.Config != nil {
		for _, t := range opts.Config.Tables {
			if t.Writable != nil && !storage.IsRemote(t.Path) {
				// A writable table's archive starts empty.
				if err := os.MkdirAll(t.Path, 0o755); err != nil {
					db.Close()
					return nil, fmt.Errorf("table %s: %w", t.Name, err)
				}
			}
		}
	}
	if err := c.Refresh(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close releases the indexing database.
func (c *Catalog) Close() error { return c.db.Close() }

// Snapshot returns the current immutable view.
func (c *Catalog) Snapshot() *Snapshot { return c.snap.Load() }

// Roots returns the directories and files the catalog reads: the data
// directories and the declared tables' paths.
func (c *Catalog) Roots() []string {
	roots := c.dataDirs()
	for _, d := range c.defs() {
		roots = append(roots, d.root)
	}
	return roots
}

// CacheDir is where derived files (GeoJSON sidecars, statistics) live.
func (c *Catalog) CacheDir() string { return c.opts.CacheDir }

type tableDef struct {
	name, root, format, partitioning string
	options                          map[string]string
	columns                          []connectors.Column
	writable                         *Writable
	accelerate                       string
}

// formatOf returns the format a file name's extension belongs to.
func (c *Catalog) formatOf(name string) (string, string) {
	lower := strings.ToLower(name)
	best, format := "", ""
	for ext, f := range c.exts {
		if strings.HasSuffix(lower, ext) && len(ext) > len(best) {
			best, format = ext, f
		}
	}
	return format, best
}

func (c *Catalog) defs() []tableDef {
	var defs []tableDef
	if c.opts.Config != nil {
		for _, t := range c.opts.Config.Tables {
			d := tableDef{name: t.Name, root: t.Path, format: t.Format, partitioning: t.Partitioning, options: t.Options, accelerate: t.Accelerate}
			if t.Writable != nil {
				d.format = "parquet"
				d.writable = writableOf(t)
				if storage.IsRemote(d.root) && !strings.HasSuffix(d.root, "/") {
					d.root += "/" // a prefix its ticks write under, not one object
				}
			}
			for _, col := range t.Columns {
				if d.writable != nil && slices.ContainsFunc(d.writable.PartitionBy, func(k string) bool { return strings.EqualFold(k, col.Name) }) {
					continue // a hive directory, not a column of the files
				}
				d.columns = append(d.columns, connectors.Column{Name: col.Name, Type: strings.ToUpper(col.Type)})
			}
			defs = append(defs, d)
		}
	}
	return defs
}

// writableOf turns a checked declaration into a Writable.
func writableOf(t TableConfig) *Writable {
	w := &Writable{Tick: 10 * time.Second, TargetFileSize: 64 << 20, WAL: t.Writable.WAL}
	if t.Source != nil {
		w.Kafka = t.Source.Kafka
	}
	if d, err := time.ParseDuration(t.Writable.Tick); err == nil && d > 0 {
		w.Tick = d
	}
	if n, err := ParseSize(t.Writable.TargetFileSize); err == nil {
		w.TargetFileSize = n
	}
	for _, k := range t.Writable.PartitionBy {
		for _, c := range t.Columns {
			if strings.EqualFold(c.Name, k) {
				w.PartitionBy = append(w.PartitionBy, c.Name)
			}
		}
	}
	for _, c := range t.Columns {
		w.Columns = append(w.Columns, WritableColumn{Name: c.Name, Type: strings.ToUpper(c.Type), NotNull: c.NotNull})
	}
	return w
}

func (c *Catalog) dataDirs() []string {
	var dirs []string
	if c.opts.Config != nil {
		dirs = append(dirs, c.opts.Config.Data...)
	}
	return append(dirs, c.opts.Data...)
}

func hidden(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// discoverDefs turns data directories into table definitions.
func (c *Catalog) discoverDefs(ctx context.Context) ([]tableDef, []Problem, error) {
	defs := c.defs()
	var problems []Problem
	for _, dir := range c.dataDirs() {
		if storage.IsRemote(dir) {
			found, err := c.remoteEntries(ctx, dir)
			if err != nil {
				return nil, nil, err
			}
			defs = append(defs, found...)
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("data directory %s: %w", dir, ErrNotFound)
			}
			return nil, nil, fmt.Errorf("data directory %s: %w", dir, err)
		}
		for _, e := range entries {
			if hidden(e.Name()) {
				continue
			}
			path := filepath.Join(dir, e.Name())
			name := e.Name()
			st, err := os.Stat(path)
			if err != nil {
				problems = append(problems, Problem{Path: path, Err: fmt.Errorf("%s: %w", path, err)})
				continue
			}
			if !st.IsDir() {
				format, ext := c.formatOf(name)
				if format == "" {
					continue
				}
				name = name[:len(name)-len(ext)]
				if layers := c.layers(ctx, format, path); len(layers) > 1 {
					// A table per layer: file.layer.
					for _, l := range layers {
						defs = append(defs, tableDef{name: name + "." + l, root: path, options: map[string]string{"layer": l}})
					}
					continue
				}
			}
			defs = append(defs, tableDef{name: name, root: path})
		}
	}
	// First definition of a name wins.
	seen := map[string]bool{}
	out := defs[:0]
	for _, d := range defs {
		key := strings.ToLower(d.name)
		if seen[key] {
			problems = append(problems, Problem{Path: d.root, Err: fmt.Errorf("%s: table %s is already defined; left out", d.root, d.name)})
			continue
		}
		seen[key] = true
		out = append(out, d)
	}
	return out, problems, nil
}

// layers are the layers of a GeoPackage read through GDAL (see
// gdal.Layers); nil for other files, without the spatial extension, or
// when the file cannot be read (its table then says why).
func (c *Catalog) layers(ctx context.Context, format, path string) []string {
	g, ok := c.conns[format].(*gdal.Connector)
	if !ok || !g.Spatial {
		return nil
	}
	layers, err := gdal.Layers(ctx, c.db, path)
	if err != nil {
		return nil
	}
	return layers
}

// Refresh re-lists every table's files, inspects new or changed files, reuses
// what it knew of unchanged ones, and publishes a new snapshot if anything
// changed.
func (c *Catalog) Refresh(ctx context.Context) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	defer func() {
		c.last.Store(&RefreshStats{At: time.Now(), Took: time.Since(start), Err: err})
	}()
	old := c.snap.Load()
	defs, problems, err := c.discoverDefs(ctx)
	if err != nil {
		return err
	}
	next := &Snapshot{Version: old.Version, Problems: problems, byName: map[string]*Table{}}
	for _, d := range defs {
		prev, _ := old.Table(d.name)
		t, err := c.buildTable(ctx, d, prev)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			next.Problems = append(next.Problems, Problem{Path: d.root, Err: err})
			c.log.Warn("table left out", "table", d.name, "err", err)
			continue
		}
		next.Tables = append(next.Tables, t)
		next.byName[strings.ToLower(t.Name)] = t
	}
	sort.Slice(next.Tables, func(i, j int) bool { return next.Tables[i].Name < next.Tables[j].Name })
	if old.Version == 0 || changed(old, next) {
		next.Version = old.Version + 1
		c.snap.Store(next)
	}
	return nil
}

// Retire makes the catalog leave files out of their table from the next
// refresh on, though they are still on disk (absolute paths, as File.Path).
func (c *Catalog) Retire(paths ...string) {
	c.retiredMu.Lock()
	defer c.retiredMu.Unlock()
	if c.retired == nil {
		c.retired = map[string]bool{}
	}
	for _, p := range paths {
		c.retired[p] = true
	}
}

// Forget drops retired paths from the list once the files are gone.
func (c *Catalog) Forget(paths ...string) {
	c.retiredMu.Lock()
	defer c.retiredMu.Unlock()
	for _, p := range paths {
		delete(c.retired, p)
	}
}

// IsRetired reports whether a file was retired and is not forgotten yet
// (it is still on disk, and queries planned before may read it).
func (c *Catalog) IsRetired(path string) bool { return c.isRetired(path) }

func (c *Catalog) isRetired(path string) bool {
	c.retiredMu.Lock()
	defer c.retiredMu.Unlock()
	return c.retired[path]
}

// RefreshTable re-lists one table (after qry itself added or replaced its
// files) and publishes a new snapshot if it changed.
func (c *Catalog) RefreshTable(ctx context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snap.Load()
	var def *tableDef
	for _, d := range c.defs() {
		if strings.EqualFold(d.name, name) {
			def = &d
		}
	}
	if def == nil {
		return fmt.Errorf("table %q: %w", name, ErrNotFound)
	}
	prev, _ := old.Table(name)
	t, err := c.buildTable(ctx, *def, prev)
	if err != nil {
		return err
	}
	next := &Snapshot{Version: old.Version, Problems: old.Problems, byName: map[string]*Table{}}
	for _, ot := range old.Tables {
		if strings.EqualFold(ot.Name, name) {
			ot = t
		}
		next.Tables = append(next.Tables, ot)
		next.byName[strings.ToLower(ot.Name)] = ot
	}
	if changed(old, next) {
		next.Version = old.Version + 1
		c.snap.Store(next)
	}
	return nil
}

func changed(a, b *Snapshot) bool {
	if len(a.Tables) != len(b.Tables) || len(a.Problems) != len(b.Problems) {
		return true
	}
	for i := range a.Tables {
		x, y := a.Tables[i], b.Tables[i]
		if x.Name != y.Name || len(x.Files) != len(y.Files) || len(x.Problems) != len(y.Problems) || len(x.Columns) != len(y.Columns) {
			return true
		}
		for j := range x.Files {
			if x.Files[j] != y.Files[j] {
				return true
			}
		}
		for j := range x.Columns {
			if x.Columns[j] != y.Columns[j] {
				return true
			}
		}
	}
	return false
}

type found struct {
	path      string
	size      int64
	mtime     time.Time
	etag      string
	partKeys  []string
	partVals  []string
	partError error
}

// list walks a table root and returns its data files, sorted by path.
func (c *Catalog) list(ctx context.Context, d tableDef) (files []found, format string, problems []Problem, err error) {
	if storage.IsRemote(d.root) {
		return c.listRemote(ctx, d)
	}
	st, err := os.Stat(d.root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil, fmt.Errorf("table %s: %s: %w", d.name, d.root, ErrNotFound)
		}
		return nil, "", nil, fmt.Errorf("table %s: %w", d.name, err)
	}
	format = d.format
	if !st.IsDir() {
		if format == "" {
			format, _ = c.formatOf(d.root)
		}
		if format == "" {
			return nil, "", nil, fmt.Errorf("table %s: %s: unknown file format (give format: in qry.yaml)", d.name, d.root)
		}
		return []found{{path: d.root, size: st.Size(), mtime: st.ModTime()}}, format, nil, nil
	}
	root, err := filepath.EvalSymlinks(d.root)
	if err != nil {
		return nil, "", nil, fmt.Errorf("table %s: %w", d.name, err)
	}
	counts := map[string]int{}
	var all []found
	var formats []string
	err = filepath.WalkDir(d.root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, Problem{Path: path, Err: fmt.Errorf("%s: %w", path, err)})
			return nil
		}
		if path != d.root && hidden(e.Name()) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		f, _ := c.formatOf(e.Name())
		if f == "" {
			return nil
		}
		info, err := os.Stat(path) // follows a symlink
		if err != nil {
			problems = append(problems, Problem{Path: path, Err: fmt.Errorf("%s: %w", path, err)})
			return nil
		}
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(path)
			if err != nil || !within(root, target) {
				problems = append(problems, Problem{Path: path, Err: fmt.Errorf("%s: symlink leads out of the table root; not followed", path)})
				return nil
			}
		}
		if !info.Mode().IsRegular() || c.isRetired(path) {
			return nil
		}
		counts[f]++
		fd := found{path: path, size: info.Size(), mtime: info.ModTime()}
		rel, _ := filepath.Rel(d.root, filepath.Dir(path))
		if rel != "." {
			d.partition(&fd, strings.Split(rel, string(filepath.Separator)))
		}
		all = append(all, fd)
		formats = append(formats, f)
		return nil
	})
	if err != nil {
		return nil, "", nil, fmt.Errorf("table %s: %w", d.name, err)
	}
	files, format, err = d.pick(format, all, formats, counts)
	return files, format, problems, err
}

// partition reads a file's hive partition values from the directories
// between the table's root and the file.
func (d tableDef) partition(fd *found, dirs []string) {
	if d.partitioning == "none" {
		return
	}
	for _, seg := range dirs {
		k, v, ok := strings.Cut(seg, "=")
		if !ok || k == "" {
			fd.partError = fmt.Errorf("%s: directory %q is not key=value", fd.path, seg)
			break
		}
		fd.partKeys = append(fd.partKeys, k)
		fd.partVals = append(fd.partVals, v)
	}
	if d.partitioning == "" && fd.partError != nil {
		// Not hive-partitioned: plain subdirectories.
		fd.partError, fd.partKeys, fd.partVals = nil, nil, nil
	}
}

// pick keeps the files of the table's format (the most common one when
// the table does not say), sorted by path.
func (d tableDef) pick(format string, all []found, formats []string, counts map[string]int) ([]found, string, error) {
	if format == "" {
		best := 0
		for f, n := range counts {
			if n > best || (n == best && f < format) {
				format, best = f, n
			}
		}
	}
	if format == "" {
		return nil, "", fmt.Errorf("table %s: %s: no parquet, csv, json, geojson or GIS (gpkg, shp, fgb, kml, gpx) files", d.name, d.root)
	}
	var files []found
	for i, fd := range all {
		if formats[i] == format {
			files = append(files, fd)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, format, nil
}

func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// buildTable lists a table's files, inspects those it does not know yet, and
// unifies their schemas.
func (c *Catalog) buildTable(ctx context.Context, d tableDef, prev *Table) (*Table, error) {
	files, format, problems, err := c.list(ctx, d)
	if err != nil {
		return nil, err
	}
	conn := c.conns[format]
	t := &Table{Name: d.name, Root: d.root, Format: format, Options: d.options, Problems: problems, connector: conn, Writable: d.writable, Accelerate: d.accelerate}
	if len(d.columns) > 0 && d.writable == nil {
		if t.Options == nil {
			t.Options = map[string]string{}
		} else {
			t.Options = maps.Clone(t.Options)
		}
		var spec []string
		for _, col := range d.columns {
			spec = append(spec, col.Name+" "+col.Type)
		}
		t.Options["columns"] = strings.Join(spec, "; ")
	}

	// Partition keys: those of the first file; files with others are left out.
	var keys []string
	if len(files) > 0 {
		keys = files[0].partKeys
	}
	if d.writable != nil {
		keys = d.writable.PartitionBy
	}
	key := statsKey(d, format)
	known := map[string]*File{}
	if prev != nil && prev.Format == format && maps.Equal(prev.Options, t.Options) {
		for _, f := range prev.Files {
			known[f.Path] = f
		}
	} else if saved := c.loadStats(key, format); saved != nil {
		known = saved
	}
	infos := make([]*File, len(files))
	errs := make([]error, len(files))
	var todo []int
	reused := 0
	for i, fd := range files {
		switch {
		case fd.partError != nil:
			errs[i] = fd.partError
		case !slices.Equal(fd.partKeys, keys):
			errs[i] = fmt.Errorf("%s: partition keys %s differ from the table's %s", fd.path, keyList(fd.partKeys), keyList(keys))
		default:
			if f, ok := known[fd.path]; ok && f.Size == fd.size && f.ModTime.Equal(fd.mtime) && f.ETag == fd.etag {
				infos[i] = f
				reused++
			} else {
				todo = append(todo, i)
			}
		}
	}
	c.inspect(ctx, conn, files, t.Options, todo, infos, errs, keys)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	sb := schemaBuilder{text: format != "parquet"}
	if len(d.columns) > 0 {
		_ = sb.add(d.columns)
	}
	for i, fd := range files {
		if errs[i] != nil {
			t.Problems = append(t.Problems, Problem{Path: fd.path, Err: errs[i]})
			c.log.Warn("file left out", "table", d.name, "err", errs[i])
			continue
		}
		cols := infos[i].Columns
		if d.writable != nil {
			// The archive's hidden sequence column is not the table's.
			cols = slices.DeleteFunc(slices.Clone(cols), func(c connectors.Column) bool { return c.Name == SeqColumn })
		}
		if err := sb.add(cols); err != nil {
			err = fmt.Errorf("%s: %w", fd.path, err)
			t.Problems = append(t.Problems, Problem{Path: fd.path, Err: err})
			c.log.Warn("file left out", "table", d.name, "err", err)
			continue
		}
		t.Files = append(t.Files, infos[i])
	}
	if len(t.Files) == 0 && len(d.columns) == 0 {
		if len(t.Problems) > 0 {
			return nil, fmt.Errorf("table %s: no readable files: %w", d.name, t.Problems[0])
		}
		return nil, fmt.Errorf("table %s: %s: no data files", d.name, d.root)
	}
	for _, col := range sb.cols {
		// A hive key named like a column of the files wins, as in DuckDB's
		// hive_partitioning: the directory's value is the column's.
		if slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, col.Name) }) {
			continue
		}
		t.Columns = append(t.Columns, Column{Name: col.Name, Type: col.Type})
	}
	t.defCols = len(t.Columns)
	for i, k := range keys {
		typ := partitionType(t.Files, k, i)
		if d.writable != nil {
			for _, wc := range d.writable.Columns {
				if wc.Name == k {
					typ = wc.Type
				}
			}
		}
		t.Columns = append(t.Columns, Column{Name: k, Type: typ, Partition: true})
	}
	if len(todo) > 0 || reused != len(known) {
		if err := c.saveStats(key, t); err != nil {
			c.log.Warn("statistics not persisted", "table", t.Name, "err", err)
		}
	}
	return t, nil
}

// inspect reads the files at todo's indexes in parallel, in batches when the
// connector can (falling back to one by one, so each failure is named).
func (c *Catalog) inspect(ctx context.Context, conn connectors.Connector, files []found, opts map[string]string, todo []int, infos []*File, errs []error, keys []string) {
	newFile := func(i int, info connectors.FileInfo) *File {
		fd := files[i]
		f := &File{Path: fd.path, Size: fd.size, ModTime: fd.mtime, ETag: fd.etag, Rows: info.Rows,
			Columns: info.Columns, Stats: info.Stats, BBox: info.BBox, BBoxColumn: info.BBoxColumn, Inexact: info.Inexact, Read: info.Read, Rejects: info.Rejects}
		if len(keys) > 0 {
			f.Partition = map[string]string{}
			for j, k := range keys {
				v := fd.partVals[j]
				if v == "__HIVE_DEFAULT_PARTITION__" {
					v = ""
				}
				f.Partition[k] = v
			}
		}
		return f
	}
	one := func(i int) {
		errs[i] = func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%s: reading panicked: %v", files[i].path, r)
				}
			}()
			info, err := conn.Inspect(ctx, c.db, files[i].path, opts)
			if err != nil {
				return err
			}
			infos[i] = newFile(i, info)
			return nil
		}()
	}
	batch := func(idx []int) {
		bi, ok := conn.(connectors.BatchInspector)
		if ok && len(idx) > 1 {
			paths := make([]string, len(idx))
			for k, i := range idx {
				paths[k] = files[i].path
			}
			got, err := func() (got []connectors.FileInfo, err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("batch panicked: %v", r)
					}
				}()
				return bi.InspectBatch(ctx, c.db, paths, opts)
			}()
			if err == nil && len(got) == len(idx) {
				for k, i := range idx {
					infos[i] = newFile(i, got[k])
				}
				return
			}
		}
		for _, i := range idx {
			if ctx.Err() != nil {
				return
			}
			one(i)
		}
	}
	const batchSize = 256
	work := make(chan []int)
	var wg sync.WaitGroup
	for w := 0; w < min(c.opts.Threads, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range work {
				batch(idx)
			}
		}()
	}
	size := 1
	if _, ok := conn.(connectors.BatchInspector); ok {
		// Enough batches to keep every worker busy, none too large.
		size = min(batchSize, max(1, len(todo)/max(1, c.opts.Threads)))
	}
	for start := 0; start < len(todo); start += size {
		if ctx.Err() != nil {
			break
		}
		work <- todo[start:min(start+size, len(todo))]
	}
	close(work)
	wg.Wait()
}

// partitionType types a partition column from its values: BIGINT if all are
// integers, DATE if all are dates, VARCHAR otherwise.
func partitionType(files []*File, key string, _ int) string {
	allInt, allDate := true, true
	for _, f := range files {
		v := f.Partition[key]
		if v == "" {
			continue
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			allInt = false
		}
		if _, err := time.Parse("2006-01-02", v); err != nil {
			allDate = false
		}
	}
	switch {
	case allInt:
		return "BIGINT"
	case allDate:
		return "DATE"
	}
	return "VARCHAR"
}

func keyList(k []string) string {
	if len(k) == 0 {
		return "(none)"
	}
	return strings.Join(k, "/")
}
