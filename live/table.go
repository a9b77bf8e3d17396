//go:build duckdb_arrow

package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/live/wal"
	"github.com/qry-dev/qry/storage"
)

// LiveCatalog is the in-memory database holding writable tables' live rows.
const LiveCatalog = "qry_live"

// seqCol numbers live rows in write order; a tick archives those up to a
// sequence number. Archive files keep it (hidden from the table).
const seqCol = catalog.SeqColumn

// seqHidden is the hidden sequence column, as scans add it.
var seqHidden = []catalog.Column{{Name: seqCol, Type: "UBIGINT"}}

// WALDirName is the directory, inside a writable table's root, of its
// write-ahead log and tick journal (hidden from the catalog by its _).
const WALDirName = "_qry_wal"

// tbl is the live tier of one writable table.
type tbl struct {
	name   string
	root   string
	decl   *catalog.Writable
	ident  string // qry_live.main."name"
	walDir string
	log    *wal.Log
	arc    archive // where its Parquet files go
	// unfinished is a hand-over that failed, done again before the next
	// tick or compaction (lt.work guards it).
	unfinished *pendingHandover

	// mu serializes writes (sequence numbers are handed out and the WAL
	// appended in commit order) and the tick's hand-over.
	mu       sync.Mutex
	c        *duck.Conn // the writer's own connection
	arch     *duck.Conn // reads for ticks and compactions, while writes go on
	seq      uint64
	archived uint64
	// seqs are seq and archived for readers that must not take mu
	// (Tier.Seqs, while a query holds the hand-over's read lock and a
	// hand-over, holding mu, waits for it).
	seqs struct{ written, archived atomic.Uint64 }
	// positions are how far each source of the table (a Kafka partition)
	// is written, as of the last write; archivedPos as of the archived
	// rows (the journal keeps them once the log segments are gone).
	positions   Positions
	archivedPos Positions
	// gen grows with each committed write (cached results key on it).
	gen atomic.Uint64
	// watchers are signalled after each committed write and hand-over.
	wmu      sync.Mutex
	watchers map[*Watch]struct{}
	// work serializes ticks and compactions of this table.
	work        sync.Mutex
	arrowSchema *arrow.Schema
	inDDL       string // creates the landing table of appended rows

	// pending are files (relative to the root) a compaction replaced and
	// that wait for their last readers; every journal written lists them,
	// so that a crash meanwhile does not leave them in the table.
	jmu     sync.Mutex
	pending map[string]bool

	// lockFile holds the writer lock; follower is true when another
	// process holds it (this one neither writes, ticks nor compacts).
	lockFile *os.File
	follower bool
}

func (lt *tbl) addPending(rel []string) {
	lt.jmu.Lock()
	defer lt.jmu.Unlock()
	if lt.pending == nil {
		lt.pending = map[string]bool{}
	}
	for _, r := range rel {
		lt.pending[r] = true
	}
}

func (lt *tbl) donePending(rel []string) {
	lt.jmu.Lock()
	defer lt.jmu.Unlock()
	for _, r := range rel {
		delete(lt.pending, r)
	}
}

// openTable opens the live tier of one writable table: its writer lock,
// its live table, recovery of an interrupted tick or compaction, and the
// replay of its log.
func (tr *Tier) openTable(ctx context.Context, t *catalog.Table) (*tbl, error) {
	lt := &tbl{name: t.Name, root: t.Root, decl: t.Writable,
		ident:  LiveCatalog + ".main." + connectors.QuoteIdent(t.Name),
		walDir: filepath.Join(t.Root, WALDirName), arc: localArchive{root: t.Root}}
	if t.Writable.WAL != "" {
		lt.walDir = t.Writable.WAL
	}
	if storage.IsRemote(t.Root) {
		if tr.opts.Objects == nil {
			return nil, fmt.Errorf("%s is on object storage, and none is configured", t.Root)
		}
		if t.Writable.WAL == "" {
			return nil, fmt.Errorf("%s is on object storage: declare writable.wal, a local directory for its write-ahead log", t.Root)
		}
		lt.arc = objectArchive{store: tr.opts.Objects, root: t.Root, staging: filepath.Join(lt.walDir, "upload")}
	}
	c, err := tr.connect()
	if err != nil {
		return nil, err
	}
	lt.c = c
	if lt.arch, err = tr.connect(); err != nil {
		return nil, err
	}
	if err := c.Exec("USE " + tr.opts.Schema); err != nil {
		return nil, err
	}
	cols := make([]string, 0, len(lt.decl.Columns)+1)
	for _, col := range lt.decl.Columns {
		def := connectors.QuoteIdent(col.Name) + " " + col.Type
		if col.NotNull {
			def += " NOT NULL"
		}
		cols = append(cols, def)
	}
	cols = append(cols, seqCol+" UBIGINT NOT NULL")
	if err := c.Exec(fmt.Sprintf("CREATE TABLE %s (%s)", lt.ident, strings.Join(cols, ", "))); err != nil {
		return nil, err
	}
	// Appended batches land here first; a plain INSERT ... SELECT then
	// moves them into the live table inside the write's transaction (the
	// appender's own insert is not isolated from concurrent scans).
	// It is made for each write and dropped after it, so that it holds no
	// memory between writes.
	lt.inDDL = fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s (%s)", inTable, strings.Join(cols, ", "))
	schema, err := lt.describe()
	if err != nil {
		return nil, err
	}
	lt.arrowSchema = schema
	if owner, err := lt.lock(); err != nil {
		return nil, err
	} else if !owner {
		// Another qry process writes this table (a server beside this
		// shell or query): read its archive as it is, and leave its log,
		// journal and files alone.
		lt.follower = true
		tr.log.Info("writable table is written by another qry process: reading its archive only", "table", lt.name)
		return lt, lt.follow(ctx, tr.cat)
	}
	if err := lt.recover(ctx); err != nil {
		return nil, err
	}
	// The catalog was listed before recovery renamed or removed files.
	if err := tr.cat.RefreshTable(ctx, t.Name); err != nil {
		return nil, err
	}
	// Replay what the log holds beyond the archive.
	replayed := 0
	lt.positions = lt.archivedPos.clone()
	err = wal.Replay(lt.walDir, func(first uint64, payload []byte) error {
		batches, pos, err := readIPC(payload)
		if err != nil {
			return fmt.Errorf("write-ahead log record %d: %w", first, err)
		}
		defer duck.Release(batches)
		lt.positions = lt.positions.Merge(pos)
		n := rowCount(batches)
		if n == 0 || first+uint64(n)-1 <= lt.archived {
			return nil // archived before the crash
		}
		if err := lt.insert(batches, first); err != nil {
			return fmt.Errorf("replaying write-ahead log record %d: %w", first, err)
		}
		lt.seq = first + uint64(n) - 1
		replayed += n
		return nil
	})
	if err != nil {
		return nil, err
	}
	lt.seq = max(lt.seq, lt.archived)
	lt.seqs.written.Store(lt.seq)
	lt.seqs.archived.Store(lt.archived)
	if err := lt.openLog(); err != nil {
		// A read-only or full disk: the table is read as it is, and each
		// write tries to open the log again.
		tr.log.Warn("writable table takes no writes for now", "table", lt.name, "err", err)
	}
	if replayed > 0 {
		tr.log.Info("write-ahead log replayed", "table", lt.name, "rows", replayed)
	}
	return lt, nil
}

// ErrOtherWriter is wrapped by writes to a table another qry process
// writes.
var ErrOtherWriter = fault.New(fault.Conflict, "another qry process writes this table; this one only reads its archive")

// lock takes the table's writer lock (an flock on <root>/_qry_wal/lock,
// released by the kernel when the process ends, kill -9 included). It
// reports false when another process holds it. Where the lock file
// cannot be made (a read-only disk that has none), the table is taken
// without one.
func (lt *tbl) lock() (bool, error) {
	path := filepath.Join(lt.walDir, "lock")
	_ = os.MkdirAll(lt.walDir, 0o755)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if f, err = os.Open(path); err != nil {
			return true, nil
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	lt.lockFile = f
	return true, nil
}

// follow readies a table another process writes: files its compactions
// replaced and not yet removed are left out, as that process does.
func (lt *tbl) follow(ctx context.Context, cat *catalog.Catalog) error {
	j, err := lt.readJournal()
	if err != nil {
		return err
	}
	swapped := true
	for _, r := range j.Renames {
		if ok, err := lt.arc.exists(ctx, r[1]); err != nil {
			return err
		} else if !ok {
			swapped = false
		}
	}
	if swapped && len(j.Removes) > 0 {
		retired := make([]string, len(j.Removes))
		for i, r := range j.Removes {
			retired[i] = lt.arc.path(r)
		}
		cat.Retire(retired...)
	}
	return cat.RefreshTable(ctx, lt.name)
}

// openLog opens the write-ahead log if it is not open. lt.mu is held (or lt
// is not shared yet).
func (lt *tbl) openLog() error {
	if lt.follower {
		return fmt.Errorf("table %s: %w", lt.name, ErrOtherWriter)
	}
	if lt.log != nil {
		return nil
	}
	l, err := wal.Open(lt.walDir)
	if err != nil {
		return fmt.Errorf("table %s: %w: cannot open its write-ahead log: %w", lt.name, ErrStorage, err)
	}
	lt.log = l
	return nil
}

// describe is the Arrow schema of the declared columns.
func (lt *tbl) describe() (*arrow.Schema, error) {
	names := make([]string, len(lt.decl.Columns))
	for i, col := range lt.decl.Columns {
		names[i] = connectors.QuoteIdent(col.Name)
	}
	stmt, err := lt.c.Prepare(fmt.Sprintf("SELECT %s FROM %s", strings.Join(names, ", "), lt.ident))
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	return stmt.Schema()
}

// ErrNotWritable is returned for writes to a table that does not take them.
var ErrNotWritable = fault.New(fault.ReadOnly, "table is read-only: declare it writable in qry.yaml to write to it")

// ErrStorage is wrapped by writes the disk did not take (full, read-only,
// failing): nothing of them is written, and reads go on.
var ErrStorage = fault.New(fault.Storage, "write not saved")

// ErrWrite is wrapped by writes refused for what they hold (a wrong type, an
// unknown column, a NULL where none may be).
var ErrWrite = fault.New(fault.BadWrite, "write refused")

// Append writes batches to a writable table as one write: validated, made
// durable in the write-ahead log (fsynced), then visible to queries. Either
// every row is written or none. The batches are not released.
func (tr *Tier) Append(ctx context.Context, table string, batches []arrow.RecordBatch) (int64, error) {
	return tr.AppendAt(ctx, table, batches, nil)
}

// Positions are how far a table's sources are written: for each source
// (a Kafka topic's partition, "topic/partition"), the next offset to read.
type Positions map[string]int64

func (p Positions) clone() Positions {
	if p == nil {
		return nil
	}
	out := make(Positions, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// Merge is p with each of q's positions that is further on.
func (p Positions) Merge(q Positions) Positions {
	if len(q) == 0 {
		return p
	}
	out := p.clone()
	if out == nil {
		out = Positions{}
	}
	for k, v := range q {
		if cur, ok := out[k]; !ok || v > cur {
			out[k] = v
		}
	}
	return out
}

// AppendAt is Append for a source that reads a log (Kafka): pos, how far
// the source has read once these rows are written, goes into the same
// write-ahead log record as the rows, so the rows and the positions are
// durable together, and Positions gives them back after a restart. With
// pos, batches may hold no rows (the source read only messages it
// rejected).
func (tr *Tier) AppendAt(ctx context.Context, table string, batches []arrow.RecordBatch, pos Positions) (int64, error) {
	lt, ok := tr.tables[strings.ToLower(table)]
	if !ok {
		return 0, fmt.Errorf("%s: %w", table, ErrNotWritable)
	}
	if lt.follower {
		return 0, lt.openLog()
	}
	if err := lt.validate(batches); err != nil {
		return 0, err
	}
	n := rowCount(batches)
	if n == 0 && len(pos) == 0 {
		return 0, nil
	}
	schema := lt.arrowSchema
	if len(batches) > 0 {
		schema = batches[0].Schema()
	}
	payload, err := writeIPC(schema, batches, pos)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, duck.CtxErr(ctx)
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	first := lt.seq + 1
	if n == 0 {
		// Positions alone: nothing to make visible.
		if err := lt.openLog(); err != nil {
			return 0, err
		}
		if err := lt.log.Append(first, payload); err != nil {
			return 0, fmt.Errorf("table %s: %w: %w", lt.name, ErrStorage, err)
		}
		lt.positions = lt.positions.Merge(pos)
		return 0, nil
	}
	if err := lt.c.Exec("BEGIN TRANSACTION"); err != nil {
		return 0, err
	}
	if err := lt.insert(batches, first); err != nil {
		_ = lt.c.Exec("ROLLBACK")
		return 0, err
	}
	if err := lt.openLog(); err != nil {
		_ = lt.c.Exec("ROLLBACK")
		return 0, err
	}
	if err := lt.log.Append(first, payload); err != nil {
		_ = lt.c.Exec("ROLLBACK")
		return 0, fmt.Errorf("table %s: %w: %w", lt.name, ErrStorage, err)
	}
	if err := lt.c.Exec("COMMIT"); err != nil {
		// In the log but not visible: the next start replays it.
		return 0, fmt.Errorf("table %s: %w", lt.name, err)
	}
	lt.seq = first + uint64(n) - 1
	lt.seqs.written.Store(lt.seq)
	lt.positions = lt.positions.Merge(pos)
	lt.gen.Add(1)
	lt.signal()
	return int64(n), nil
}

// validate checks batches against the declared columns: names, types that
// can hold each other, NOT NULL, and one schema for every batch.
func (lt *tbl) validate(batches []arrow.RecordBatch) error {
	if len(batches) == 0 {
		return nil
	}
	first := batches[0].Schema()
	for i, b := range batches[1:] {
		if !b.Schema().Equal(first) {
			return fmt.Errorf("%w: table %s: batch %d has another schema than batch 1 (%s, not %s)", ErrWrite, lt.name, i+2, b.Schema(), first)
		}
	}
	decl := map[string]catalog.WritableColumn{}
	for _, c := range lt.decl.Columns {
		decl[strings.ToLower(c.Name)] = c
	}
	seen := map[string]bool{}
	for fi, f := range first.Fields() {
		c, ok := decl[strings.ToLower(f.Name)]
		if !ok {
			return fmt.Errorf("%w: table %s has no column %q (its columns: %s)", ErrWrite, lt.name, f.Name, lt.columnList())
		}
		if seen[strings.ToLower(f.Name)] {
			return fmt.Errorf("%w: column %q given twice", ErrWrite, f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
		if !Compatible(f.Type, c.Type) {
			return fmt.Errorf("%w: table %s: column %s is %s, not %s data", ErrWrite, lt.name, c.Name, c.Type, f.Type)
		}
		for bi, b := range batches {
			col := b.Column(fi)
			if c.NotNull && col.NullN() > 0 {
				return fmt.Errorf("%w: table %s: column %s is NOT NULL, and row %d holds NULL", ErrWrite, lt.name, c.Name, rowOffset(batches, bi)+firstNull(col)+1)
			}
			if containsFold(lt.decl.PartitionBy, c.Name) {
				if err := checkPartitionValues(c.Name, col); err != nil {
					return err
				}
			}
		}
	}
	for _, c := range lt.decl.Columns {
		if c.NotNull && !seen[strings.ToLower(c.Name)] {
			return fmt.Errorf("%w: table %s: column %s is NOT NULL and missing", ErrWrite, lt.name, c.Name)
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

var partitionValueRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 .:+-]*$`)

// checkPartitionValues refuses text that cannot name a hive directory.
func checkPartitionValues(name string, col arrow.Array) error {
	s, ok := col.(interface {
		Value(int) string
		IsNull(int) bool
		Len() int
	})
	if !ok {
		return nil
	}
	for i := range s.Len() {
		if !s.IsNull(i) && !partitionValueRE.MatchString(s.Value(i)) {
			return fmt.Errorf("%w: partition column %s: %q cannot name a directory (letters, digits, space, . : + -)", ErrWrite, name, s.Value(i))
		}
	}
	return nil
}

func (lt *tbl) columnList() string {
	names := make([]string, len(lt.decl.Columns))
	for i, c := range lt.decl.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

func firstNull(a arrow.Array) int {
	for i := range a.Len() {
		if a.IsNull(i) {
			return i
		}
	}
	return 0
}

func rowOffset(batches []arrow.RecordBatch, upto int) int {
	n := 0
	for _, b := range batches[:upto] {
		n += int(b.NumRows())
	}
	return n
}

// Compatible reports whether Arrow data may be written to a column of a
// DuckDB type (DuckDB then casts it, and refuses values that do not fit).
func Compatible(t arrow.DataType, duckType string) bool {
	d := strings.ToUpper(duckType)
	isInt := func() bool {
		switch t.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
			return true
		}
		return false
	}
	isNum := func() bool {
		switch t.ID() {
		case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256, arrow.DECIMAL32, arrow.DECIMAL64:
			return true
		}
		return isInt()
	}
	isText := func() bool {
		switch t.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.DICTIONARY:
			return true
		}
		return false
	}
	isTime := func() bool {
		switch t.ID() {
		case arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64:
			return true
		}
		return false
	}
	if t.ID() == arrow.NULL {
		return true
	}
	switch {
	case strings.HasSuffix(d, "INT") || d == "HUGEINT" || d == "UHUGEINT":
		return isInt()
	case d == "FLOAT" || d == "DOUBLE" || d == "REAL" || strings.HasPrefix(d, "DECIMAL") || strings.HasPrefix(d, "NUMERIC"):
		return isNum()
	case d == "VARCHAR" || d == "TEXT" || d == "STRING":
		return isText()
	case d == "BOOLEAN" || d == "BOOL":
		return t.ID() == arrow.BOOL
	case d == "DATE" || strings.HasPrefix(d, "TIMESTAMP"):
		return isTime()
	case d == "BLOB":
		return t.ID() == arrow.BINARY || t.ID() == arrow.LARGE_BINARY || t.ID() == arrow.BINARY_VIEW
	}
	return true // DuckDB decides
}

// insert adds batches to the live table on lt.c, numbering rows from first.
// The caller holds lt.mu (or owns lt during recovery) and the transaction.
func (lt *tbl) insert(batches []arrow.RecordBatch, first uint64) error {
	if len(batches) == 0 {
		return nil
	}
	in := batches[0].Schema()
	fields := append(append([]arrow.Field{}, in.Fields()...), arrow.Field{Name: seqCol, Type: arrow.PrimitiveTypes.Uint64})
	schema := arrow.NewSchema(fields, nil)
	present := map[string]string{}
	for _, f := range in.Fields() {
		present[strings.ToLower(f.Name)] = f.Name
	}
	targets := make([]string, 0, len(lt.decl.Columns)+1)
	exprs := make([]string, 0, len(lt.decl.Columns)+1)
	for _, c := range lt.decl.Columns {
		targets = append(targets, connectors.QuoteIdent(c.Name))
		if name, ok := present[strings.ToLower(c.Name)]; ok {
			exprs = append(exprs, fmt.Sprintf("CAST(%s AS %s)", connectors.QuoteIdent(name), c.Type))
		} else {
			exprs = append(exprs, "NULL::"+c.Type)
		}
	}
	targets = append(targets, seqCol)
	exprs = append(exprs, seqCol)
	query := fmt.Sprintf("INSERT INTO temp.%s (%s) SELECT %s FROM appended", inTable, strings.Join(targets, ", "), strings.Join(exprs, ", "))
	if err := lt.c.Exec(lt.inDDL); err != nil {
		return err
	}
	defer func() { _ = lt.c.Exec("DROP TABLE IF EXISTS temp." + inTable) }()

	seq := first
	mem := memory.DefaultAllocator
	var chunks []arrow.RecordBatch
	defer func() { duck.Release(chunks) }()
	for _, b := range batches {
		for off := int64(0); off < b.NumRows(); off += 2048 {
			end := min(off+2048, b.NumRows())
			part := b.NewSlice(off, end)
			sb := array.NewUint64Builder(mem)
			for i := off; i < end; i++ {
				sb.Append(seq)
				seq++
			}
			seqs := sb.NewArray()
			sb.Release()
			cols := append(append([]arrow.Array{}, part.Columns()...), seqs)
			chunks = append(chunks, array.NewRecordBatch(schema, cols, end-off))
			seqs.Release()
			part.Release()
		}
	}
	if err := lt.c.Append(query, "appended", chunks); err != nil {
		var ae *duck.AppendError
		if errors.As(err, &ae) {
			return writeError(lt.name, ae.Msg)
		}
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	if err := lt.c.Exec(fmt.Sprintf("INSERT INTO %s SELECT * FROM temp.%s", lt.ident, inTable)); err != nil {
		var qe *fault.Error
		if errors.As(err, &qe) {
			return writeError(lt.name, qe.Msg)
		}
		return err
	}
	return nil
}

// inTable is the writer connection's landing table for appended batches.
const inTable = "_qry_in"

// writeError words DuckDB's refusal of a write (its message, on one
// line).
func writeError(table, msg string) error {
	msg = strings.ReplaceAll(msg, LiveCatalog+".main.", "")
	return fmt.Errorf("%w: table %s: %s", ErrWrite, table, msg)
}

func rowCount(batches []arrow.RecordBatch) int {
	n := 0
	for _, b := range batches {
		n += int(b.NumRows())
	}
	return n
}

// positionsKey is the schema metadata key of a log record's source
// positions (JSON).
const positionsKey = "qry.positions"

// writeIPC is a log record's payload: the batches as an Arrow IPC stream,
// with the source positions, if any, in its schema's metadata.
func writeIPC(schema *arrow.Schema, batches []arrow.RecordBatch, pos Positions) ([]byte, error) {
	md := arrow.Metadata{}
	if len(pos) > 0 {
		data, err := json.Marshal(pos)
		if err != nil {
			return nil, err
		}
		md = arrow.NewMetadata([]string{positionsKey}, []string{string(data)})
	}
	schema = arrow.NewSchema(schema.Fields(), &md)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	for _, b := range batches {
		rb := array.NewRecordBatch(schema, b.Columns(), b.NumRows())
		err := w.Write(rb)
		rb.Release()
		if err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readIPC reads a log record's payload back (see writeIPC).
func readIPC(payload []byte) ([]arrow.RecordBatch, Positions, error) {
	r, err := ipc.NewReader(bytes.NewReader(payload))
	if err != nil {
		return nil, nil, err
	}
	defer r.Release()
	var pos Positions
	md := r.Schema().Metadata()
	if i := md.FindKey(positionsKey); i >= 0 {
		if err := json.Unmarshal([]byte(md.Values()[i]), &pos); err != nil {
			return nil, nil, fmt.Errorf("source positions: %w", err)
		}
	}
	batches, err := duck.Collect(r)
	return batches, pos, err
}

// journal is a writable table's tick journal: how far rows are archived,
// and the renames of a tick under way.
type journal struct {
	Archived uint64      `json:"archived"`
	Renames  [][2]string `json:"renames,omitempty"` // temp -> final, relative to the root
	Removes  []string    `json:"removes,omitempty"` // compaction: files the renamed one replaces
	// Positions are the table's source positions as of the archived rows
	// (see Tier.AppendAt).
	Positions Positions `json:"positions,omitempty"`
}

func (lt *tbl) journalPath() string { return filepath.Join(lt.walDir, "journal.json") }

func (lt *tbl) readJournal() (journal, error) {
	var j journal
	data, err := os.ReadFile(lt.journalPath())
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return j, err
	}
	if err := json.Unmarshal(data, &j); err != nil {
		return j, fmt.Errorf("%s: %w", lt.journalPath(), err)
	}
	return j, nil
}

// writeJournal replaces the journal atomically and durably. The files
// waiting for removal are added to j.Removes.
func (lt *tbl) writeJournal(j journal) error {
	if err := os.MkdirAll(lt.walDir, 0o755); err != nil {
		return err
	}
	lt.jmu.Lock()
	defer lt.jmu.Unlock()
	seen := map[string]bool{}
	for _, r := range j.Removes {
		seen[r] = true
	}
	for r := range lt.pending {
		if !seen[r] {
			j.Removes = append(j.Removes, r)
		}
	}
	sort.Strings(j.Removes)
	if j.Positions == nil {
		j.Positions = lt.archivedPos
	}
	data, _ := json.Marshal(j)
	return writeFileSync(lt.journalPath(), data)
}

// writeFileSync writes path through a temporary file, fsyncs it, renames it
// into place and fsyncs the directory.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// recover finishes a tick or compaction a crash interrupted: renames that
// the journal promised are done (or found done), files a compaction
// replaced are removed, and stray temporary files are deleted.
func (lt *tbl) recover(ctx context.Context) error {
	j, err := lt.readJournal()
	if err != nil {
		return err
	}
	if err := lt.arc.promote(ctx, j.Renames); err != nil {
		return fmt.Errorf("table %s: finishing an interrupted tick: %w", lt.name, err)
	}
	if err := lt.arc.remove(ctx, j.Removes); err != nil {
		return fmt.Errorf("table %s: finishing an interrupted compaction: %w", lt.name, err)
	}
	lt.archivedPos = j.Positions
	if len(j.Renames) > 0 || len(j.Removes) > 0 {
		if err := lt.writeJournal(journal{Archived: j.Archived}); err != nil {
			return err
		}
	}
	lt.archived = j.Archived
	return lt.arc.cleanTemp(ctx)
}

const tmpPrefix = ".qry-tmp-"
