// Package csv reads delimited text files. The schema is inferred once per file
// by DuckDB's sniffer (or given in qry.yaml), unified by the catalog, and
// passed explicitly at scan time so files never disagree. Statistics are
// computed once at indexing by reading the file.
package csv

import (
	"context"
	"database/sql"
	stdcsv "encoding/csv"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/qry-dev/qry/connectors"
)

// Connector is the CSV connector.
type Connector struct{}

var _ connectors.Connector = Connector{}

// Format implements connectors.Connector.
func (Connector) Format() string { return "csv" }

// Extensions implements connectors.Connector.
func (Connector) Extensions() []string { return []string{".csv", ".tsv", ".csv.gz", ".tsv.gz"} }

// readerOptions renders the format options qry.yaml may give (header, delim,
// quote, escape, nullstr, dateformat, timestampformat) as read_csv arguments.
func readerOptions(path string, opts map[string]string) (string, error) {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	hasDelim := false
	for _, k := range keys {
		v := opts[k]
		switch k {
		case "header":
			switch strings.ToLower(v) {
			case "true", "yes", "1":
				args = append(args, "header=true")
			case "false", "no", "0":
				args = append(args, "header=false")
			default:
				return "", fmt.Errorf("csv option header: %q is not true or false", v)
			}
		case "delim", "delimiter", "sep":
			hasDelim = true
			args = append(args, "delim="+connectors.QuoteString(v))
		case "quote", "escape", "dateformat", "timestampformat":
			args = append(args, k+"="+connectors.QuoteString(v))
		case "nullstr", "null":
			args = append(args, "nullstr="+connectors.QuoteString(v))
		case "columns":
			// handled by the catalog (explicit schema)
		default:
			return "", fmt.Errorf("csv option %q is not known (header, delim, quote, escape, nullstr, dateformat, timestampformat, columns)", k)
		}
	}
	if !hasDelim && (strings.HasSuffix(path, ".tsv") || strings.HasSuffix(path, ".tsv.gz")) {
		args = append(args, `delim='\t'`)
	}
	if len(args) == 0 {
		return "", nil
	}
	return ", " + strings.Join(args, ", "), nil
}

// Inspect sniffs the file's schema (unless qry.yaml gives columns), then reads
// it once with that schema to count rows and compute min/max/null counts. A
// row that does not fit the schema fails here, naming the file and line.
func (Connector) Inspect(ctx context.Context, db *sql.DB, path string, opts map[string]string) (connectors.FileInfo, error) {
	ro, err := readerOptions(path, opts)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	lit := connectors.QuoteString(path)
	var cols []connectors.Column
	if spec, ok := opts["columns"]; ok {
		cols, err = ParseColumns(spec)
		if err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		cols, err = connectors.Describe(ctx, db, fmt.Sprintf("read_csv(%s%s, sample_size=-1)", lit, ro))
		// The sniffer gives up, or guesses another shape, when rows are
		// ragged. If its columns disagree with the header line, read with
		// the header's columns, all VARCHAR, so the strict read below names
		// the line at fault.
		if hasHeader(opts) && !strings.HasSuffix(path, ".gz") {
			hdr, herr := headerColumns(path, opts)
			switch {
			case herr != nil && err != nil:
				return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
			case herr == nil && (err != nil || len(hdr) != len(cols)):
				cols, err = hdr, nil
			}
		}
		if err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
		}
	}
	expr := fmt.Sprintf("read_csv(%s%s, columns=%s, auto_detect=false)", lit, headerDefault(ro), connectors.StructLiteral(cols))
	n, stats, err := connectors.ColumnStatsSQL(ctx, db, expr, cols)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	return connectors.FileInfo{Columns: cols, Rows: n, Stats: stats}, nil
}

// headerDefault adds header=true when the options do not say: with
// auto_detect off DuckDB would otherwise read the header as data.
func headerDefault(ro string) string {
	if strings.Contains(ro, "header=") {
		return ro
	}
	return ro + ", header=true"
}

// Scan reads the files with read_csv and the table's explicit schema. Files
// must share the table's columns in order; the catalog leaves out those that
// do not.
func (Connector) Scan(spec connectors.ScanSpec) (string, error) {
	ro, err := readerOptions("", spec.Options)
	if err != nil {
		return "", err
	}
	if len(spec.Files) > 0 && spec.Options["delim"] == "" && spec.Options["delimiter"] == "" && spec.Options["sep"] == "" {
		if f := spec.Files[0]; strings.HasSuffix(f, ".tsv") || strings.HasSuffix(f, ".tsv.gz") {
			ro += `, delim='\t'`
		}
	}
	files, err := spec.Paths(spec.Files)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "read_csv(%s%s, columns=%s, auto_detect=false", connectors.FileList(files), headerDefault(ro), connectors.StructLiteral(spec.Columns))
	if len(spec.Partitions) > 0 {
		fmt.Fprintf(&b, ", hive_partitioning=true, hive_types=%s", connectors.StructLiteral(spec.Partitions))
	} else {
		b.WriteString(", hive_partitioning=false")
	}
	b.WriteByte(')')
	return b.String(), nil
}

// ParseColumns parses a schema given as "name TYPE; name TYPE; ...".
func ParseColumns(spec string) ([]connectors.Column, error) {
	var cols []connectors.Column
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, typ, ok := strings.Cut(part, " ")
		if !ok || strings.TrimSpace(typ) == "" {
			return nil, fmt.Errorf("csv columns: %q is not \"name TYPE\"", part)
		}
		cols = append(cols, connectors.Column{Name: name, Type: strings.ToUpper(strings.TrimSpace(typ))})
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("csv columns: empty")
	}
	return cols, nil
}

func hasHeader(opts map[string]string) bool {
	switch strings.ToLower(opts["header"]) {
	case "false", "no", "0":
		return false
	}
	return true
}

// headerColumns reads the first record of a file with the configured
// delimiter (',' by default, tab for .tsv) and names every column VARCHAR.
func headerColumns(path string, opts map[string]string) ([]connectors.Column, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := stdcsv.NewReader(f)
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	if strings.HasSuffix(path, ".tsv") || strings.HasSuffix(path, ".tsv.gz") {
		r.Comma = '\t'
	}
	for _, k := range []string{"delim", "delimiter", "sep"} {
		if v := []rune(opts[k]); len(v) == 1 {
			r.Comma = v[0]
		}
	}
	rec, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	cols := make([]connectors.Column, len(rec))
	for i, name := range rec {
		cols[i] = connectors.Column{Name: name, Type: "VARCHAR"}
	}
	return cols, nil
}
