package connectors

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
)

// Column is one column of a file or table, typed with DuckDB's type names
// (BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMP, GEOMETRY, ...).
type Column struct {
	Name string
	Type string
}

// ColumnStats are the statistics of one column in one file. Min and Max hold
// DuckDB's text form of the value (castable back to the column's type); they
// are meaningful only when HasMinMax is true. NullCount is -1 when unknown.
type ColumnStats struct {
	Min, Max  string
	HasMinMax bool
	NullCount int64
}

// BBox is a bounding box (minx, miny, maxx, maxy).
type BBox struct {
	MinX, MinY, MaxX, MaxY float64
}

// FileInfo is what a connector learns about one file at indexing time.
type FileInfo struct {
	Columns []Column
	Rows    int64
	Stats   map[string]ColumnStats
	// Inexact marks a file whose statistics contradict themselves (a
	// Parquet footer whose row count is not its row groups' sum): neither
	// Rows nor Stats may answer a query or rule the file out.
	Inexact bool
	// BBox is the extent of the file's geometries in BBoxColumn (GeoJSON;
	// GeoParquet whose metadata gives it, for its primary column).
	BBox       *BBox
	BBoxColumn string
	// Rejects are the lines a reader set to reject bad lines left out
	// (CSV with on_error: reject), at most MaxRejects of them.
	Rejects []Reject
	// Read are the reader options the file must be read with, as DuckDB
	// argument name -> SQL literal (CSV: the dialect its sniffer found,
	// with what qry.yaml sets); nil for formats that need none.
	Read map[string]string
}

// Reject is a line a reader left out: where, why, and the line itself.
type Reject struct {
	Line   int64
	Column string // "" when the error is not a column's
	Error  string
	Text   string // the original line
}

// MaxRejects bounds the rejected lines kept per file.
const MaxRejects = 10000

// ScanSpec describes a set of files of one format to be read as one table.
type ScanSpec struct {
	// Files are absolute paths, already checked to exist at indexing time.
	Files []string
	// Columns is the table's unified schema, without partition columns.
	Columns []Column
	// Partitions are the hive partition columns, typed.
	Partitions []Column
	// Options are the table's format options from qry.yaml.
	Options map[string]string
	// FileColumns and FileRead are each file's own columns (in file order)
	// and reader options (FileInfo.Read), parallel to Files; formats whose
	// files need options of their own read them.
	FileColumns [][]Column
	FileRead    []map[string]string
	// Via, if not nil, gives the path DuckDB must read a file through (a
	// sandbox's view of the file system); connectors pass every path
	// they hand DuckDB through Paths.
	Via func(path string) (string, error)
	// Uniform is true when every file has the same columns with the same
	// types, in the same order: readers need not align schemas by name
	// (which would open every file's footer before reading).
	Uniform bool
	// RowNumbers adds each row's number in its file (file_row_number), to
	// read some rows of a large file (formats that know row numbers:
	// Parquet).
	RowNumbers bool
}

// Paths maps paths through s.Via.
func (s ScanSpec) Paths(paths []string) ([]string, error) {
	if s.Via == nil {
		return paths, nil
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		v, err := s.Via(p)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Connector reads one file format. Implementations are safe for concurrent use.
type Connector interface {
	// Format is the format's name as written in qry.yaml: parquet, csv, geojson.
	Format() string
	// Extensions are the file name endings (with dot) that belong to the format.
	Extensions() []string
	// Inspect reads a file's schema and statistics. An error names the file
	// and, where known, the line or row at fault.
	Inspect(ctx context.Context, db *sql.DB, path string, opts map[string]string) (FileInfo, error)
	// Scan returns a DuckDB table expression (for example a read_parquet call)
	// that reads the spec's files with the table's schema.
	Scan(spec ScanSpec) (string, error)
}

// QuoteString quotes s as a SQL string literal.
func QuoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// QuoteIdent quotes s as a SQL identifier.
func QuoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// FileList renders paths as a DuckDB list literal of strings.
func FileList(paths []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range paths {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(QuoteString(p))
	}
	b.WriteByte(']')
	return b.String()
}

// StructLiteral renders columns as a DuckDB struct literal {'name': 'TYPE', ...},
// the form read_csv's columns= and read_parquet's hive_types= take.
func StructLiteral(cols []Column) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %s", QuoteString(c.Name), QuoteString(c.Type))
	}
	b.WriteByte('}')
	return b.String()
}

// Statsable reports whether min/max statistics are kept for a column type.
func Statsable(typ string) bool {
	switch typ {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
		"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
		"FLOAT", "DOUBLE", "VARCHAR", "DATE", "TIME",
		"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "BOOLEAN":
		return true
	}
	return strings.HasPrefix(typ, "DECIMAL")
}

// Queryer runs queries: a *sql.DB, or a *sql.Conn where temporary tables
// must outlive one query.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Describe returns the columns of a DuckDB table expression.
func Describe(ctx context.Context, db *sql.DB, tableExpr string) ([]Column, error) {
	rows, err := db.QueryContext(ctx, "DESCRIBE SELECT * FROM "+tableExpr)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []Column
	for rows.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := rows.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			return nil, err
		}
		cols = append(cols, Column{Name: name, Type: typ})
	}
	return cols, rows.Err()
}

// ColumnStatsSQL computes exact stats of columns over a table expression by
// reading it whole: one row of count(*), then min, max and null count per
// statsable column, each as VARCHAR. cols are the relation's columns in
// order (a name SQL text cannot carry, with a NUL byte, is referred to by
// position).
func ColumnStatsSQL(ctx context.Context, db Queryer, tableExpr string, cols []Column) (int64, map[string]ColumnStats, error) {
	var sel []string
	var statCols []Column
	sel = append(sel, "count(*)")
	for i, c := range cols {
		q := QuoteIdent(c.Name)
		if strings.ContainsRune(c.Name, 0) {
			q = fmt.Sprintf("#%d", i+1)
		}
		if Statsable(c.Type) {
			statCols = append(statCols, c)
			sel = append(sel, fmt.Sprintf("min(%s)::VARCHAR, max(%s)::VARCHAR, count(*) - count(%s)", q, q, q))
		}
	}
	row := db.QueryRowContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+tableExpr)
	dest := make([]any, 1+3*len(statCols))
	var n int64
	dest[0] = &n
	mins := make([]sql.NullString, len(statCols))
	maxs := make([]sql.NullString, len(statCols))
	nulls := make([]int64, len(statCols))
	for i := range statCols {
		dest[1+3*i] = &mins[i]
		dest[2+3*i] = &maxs[i]
		dest[3+3*i] = &nulls[i]
	}
	if err := row.Scan(dest...); err != nil {
		return 0, nil, err
	}
	stats := make(map[string]ColumnStats, len(statCols))
	for i, c := range statCols {
		stats[c.Name] = ColumnStats{
			Min: mins[i].String, Max: maxs[i].String,
			HasMinMax: mins[i].Valid && maxs[i].Valid,
			NullCount: nulls[i],
		}
	}
	return n, stats, nil
}

// CleanError shortens a DuckDB error to what a person needs: the message and
// the file and line it names, without the "LINE 1: <internal SQL>" echo of
// qry's own query or the list of reader settings and possible fixes.
func CleanError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, cut := range []string{"\nLINE ", "\nPossible fixes:", "\nPossible solutions:", "\nThe search space used was:"} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i]
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	return &cleanError{msg: msg, err: err}
}

type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

// Compare orders two values of a column type given in DuckDB's text form:
// numbers exactly, dates and timestamps as times, strings bytewise. ok is
// false when either does not read as the type, or the type has no order
// qry relies on (then nothing may be concluded).
func Compare(typ, a, b string) (c int, ok bool) {
	switch {
	case isNumeric(typ):
		x, okx := new(big.Rat).SetString(a)
		y, oky := new(big.Rat).SetString(b)
		if !okx || !oky {
			return 0, false
		}
		return x.Cmp(y), true
	case typ == "DATE" || typ == "TIMESTAMP" || typ == "TIMESTAMP_S" || typ == "TIMESTAMP_MS" || typ == "TIMESTAMP_NS":
		x, okx := parseTime(a)
		y, oky := parseTime(b)
		if !okx || !oky {
			return 0, false
		}
		return x.Compare(y), true
	case typ == "VARCHAR":
		return strings.Compare(a, b), true
	}
	return 0, false
}

func isNumeric(t string) bool {
	switch t {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE":
		return true
	}
	return strings.HasPrefix(t, "DECIMAL")
}

// parseTime reads DuckDB's text of a DATE or TIMESTAMP (also with a T).
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// BatchInspector is an optional power of a connector: inspecting many files
// in one go. An error for the batch as a whole makes the caller inspect the
// files one by one, so that each failure is named.
type BatchInspector interface {
	InspectBatch(ctx context.Context, db *sql.DB, paths []string, opts map[string]string) ([]FileInfo, error)
}

// NulNames reports whether a column name holds a NUL byte, which SQL text
// cannot carry (DuckDB reads the text as a C string).
func NulNames(cols []Column) bool {
	for _, c := range cols {
		if strings.ContainsRune(c.Name, 0) {
			return true
		}
	}
	return false
}

// ReadFunc is a reader call over files of one set of reader options and
// one column list (cols: names in file order, with the types to read them
// as); hive is "" or the reader's hive partitioning arguments.
type ReadFunc func(files []string, read map[string]string, cols []Column, hive string) string

// GroupedScan reads a text format's files, each with its own reader
// options and columns (ScanSpec.FileRead, FileColumns), typed as the
// table's columns: files alike in both are read together, groups are
// united, and every group is projected onto the table's columns (NULL for
// those it lacks), then the partition columns.
func GroupedScan(spec ScanSpec, read ReadFunc) (string, error) {
	files, err := spec.Paths(spec.Files)
	if err != nil {
		return "", err
	}
	hive := ""
	if len(spec.Partitions) > 0 {
		hive = ", hive_partitioning=true, hive_types=" + StructLiteral(spec.Partitions)
	}
	tableType := map[string]string{}
	for _, c := range spec.Columns {
		tableType[strings.ToLower(c.Name)] = c.Type
	}
	type group struct {
		read  map[string]string
		cols  []Column
		files []string
	}
	var groups []*group
	byKey := map[string]*group{}
	for i, f := range files {
		var own []Column
		var opts map[string]string
		if i < len(spec.FileColumns) {
			own, opts = spec.FileColumns[i], spec.FileRead[i]
		}
		if own == nil { // no file columns (an explicit schema): the table's
			own = spec.Columns
		}
		cols := make([]Column, len(own))
		for j, c := range own {
			typ, ok := tableType[strings.ToLower(c.Name)]
			if !ok {
				typ = c.Type
			}
			cols[j] = Column{Name: c.Name, Type: typ}
		}
		key := fmt.Sprint(sortedPairs(opts)) + "\x00" + StructLiteral(cols)
		g, ok := byKey[key]
		if !ok {
			g = &group{read: opts, cols: cols}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.files = append(g.files, f)
	}
	parts := make([]string, len(groups))
	for i, g := range groups {
		if len(groups) == 1 && sameNames(g.cols, spec.Columns) {
			// The table is the files' columns, in order: no projection
			// (which could not name a column with a NUL byte).
			parts[i] = "SELECT * FROM " + read(g.files, g.read, g.cols, hive)
			continue
		}
		if NulNames(g.cols) {
			return "", fmt.Errorf("a column name with a NUL byte in a table of files with different columns")
		}
		has := map[string]string{}
		for _, c := range g.cols {
			has[strings.ToLower(c.Name)] = c.Name
		}
		var sel []string
		for _, c := range spec.Columns {
			if name, ok := has[strings.ToLower(c.Name)]; ok {
				sel = append(sel, QuoteIdent(name)+" AS "+QuoteIdent(c.Name))
			} else {
				sel = append(sel, fmt.Sprintf("NULL::%s AS %s", c.Type, QuoteIdent(c.Name)))
			}
		}
		for _, p := range spec.Partitions {
			sel = append(sel, QuoteIdent(p.Name))
		}
		parts[i] = fmt.Sprintf("SELECT %s FROM %s", strings.Join(sel, ", "), read(g.files, g.read, g.cols, hive))
	}
	return "(" + strings.Join(parts, " UNION ALL ") + ")", nil
}

func sameNames(a, b []Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
