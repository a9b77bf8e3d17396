// Package csv reads delimited text files. The schema is inferred once per file
// by DuckDB's sniffer (or given in qry.yaml), unified by the catalog, and
// passed explicitly at scan time so files never disagree. Statistics are
// computed once at indexing by reading the file.
package csv

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/storage"
)

// Connector is the CSV connector.
type Connector struct {
	// Objects reads files on object storage (s3:// paths); nil when every
	// root is local.
	Objects Objects
}

// Objects is what the connector needs of an object store: the first bytes
// of an object.
type Objects interface {
	Open(ctx context.Context, path string, n int64) (io.ReadCloser, error)
}

var _ connectors.Connector = Connector{}

// Format implements connectors.Connector.
func (Connector) Format() string { return "csv" }

// Extensions implements connectors.Connector.
func (Connector) Extensions() []string {
	return []string{".csv", ".tsv", ".csv.gz", ".tsv.gz", ".csv.zst", ".tsv.zst"}
}

// userOptions are the reader options qry.yaml gives (header, delim, quote,
// escape, nullstr, dateformat, timestampformat, encoding, skip, comment,
// new_line, null_padding), as read_csv argument name -> SQL literal.
func userOptions(path string, opts map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range opts {
		switch k {
		case "header", "null_padding":
			switch strings.ToLower(v) {
			case "true", "yes", "1":
				out[k] = "true"
			case "false", "no", "0":
				out[k] = "false"
			default:
				return nil, fmt.Errorf("csv option %s: %q is not true or false", k, v)
			}
		case "delim", "delimiter", "sep":
			out["delim"] = connectors.QuoteString(v)
		case "quote", "escape", "dateformat", "timestampformat", "comment", "new_line":
			out[k] = connectors.QuoteString(v)
		case "nullstr", "null":
			out["nullstr"] = connectors.QuoteString(v)
		case "encoding":
			switch e := strings.ToLower(strings.ReplaceAll(v, "_", "-")); e {
			case "utf-8", "utf8", "utf-16", "utf16", "latin-1", "latin1":
				out[k] = connectors.QuoteString(strings.Replace(strings.Replace(e, "utf8", "utf-8", 1), "utf16", "utf-16", 1))
				if e == "latin1" {
					out[k] = "'latin-1'"
				}
			default:
				return nil, fmt.Errorf("csv option encoding: %q is not utf-8, utf-16 or latin-1", v)
			}
		case "skip":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("csv option skip: %q is not a number of lines", v)
			}
			out[k] = strconv.Itoa(n)
		case "columns":
			// handled by the catalog (explicit schema)
		case "on_error":
			switch v {
			case "reject", "leave_out":
			default:
				return nil, fmt.Errorf("csv option on_error: %q is not reject or leave_out", v)
			}
		default:
			return nil, fmt.Errorf("csv option %q is not known (header, delim, quote, escape, nullstr, dateformat, timestampformat, encoding, skip, comment, new_line, null_padding, on_error, columns)", k)
		}
	}
	return out, nil
}

// args renders reader options as read_csv arguments, in a stable order.
func args(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, ", %s=%s", k, m[k])
	}
	return b.String()
}

// bomEncoding is the encoding a byte-order mark at the start of the file
// names: utf-16 for a little-endian UTF-16 mark, "" for none (a UTF-8 mark
// DuckDB skips by itself). DuckDB's reader has no big-endian UTF-16: such a
// file is refused with that reason.
func (c Connector) bomEncoding(ctx context.Context, path string) (string, error) {
	var f io.ReadCloser
	var err error
	if storage.IsRemote(path) && c.Objects != nil {
		f, err = c.Objects.Open(ctx, path, 2)
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return "", nil // the reader reports it
	}
	defer f.Close()
	var b [2]byte
	n, _ := io.ReadFull(f, b[:])
	switch {
	case n == 2 && b[0] == 0xff && b[1] == 0xfe:
		return "utf-16", nil
	case n == 2 && b[0] == 0xfe && b[1] == 0xff:
		return "", errors.New("UTF-16 big-endian (its byte-order mark says so): DuckDB reads UTF-16 little-endian only; convert the file (iconv -f UTF-16BE -t UTF-8)")
	}
	return "", nil
}

// sniffed is what DuckDB's sniffer found in a file.
type sniffed struct {
	read    map[string]string
	columns []connectors.Column
}

// sniff runs DuckDB's sniffer over a file with the user's options, and
// keeps all it found: delimiter, quote, escape, new line, comment, skipped
// rows, header, date and timestamp formats, and the columns.
func sniff(ctx context.Context, db *sql.DB, path string, user map[string]string) (sniffed, error) {
	var delim, quote, escape, newline, comment, cols string
	var skip int64
	var header bool
	var datefmt, tsfmt sql.NullString
	err := db.QueryRowContext(ctx, "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, to_json(Columns)::VARCHAR, DateFormat, TimestampFormat FROM sniff_csv("+
		connectors.QuoteString(path)+args(user)+")").Scan(&delim, &quote, &escape, &newline, &comment, &skip, &header, &cols, &datefmt, &tsfmt)
	if err != nil {
		return sniffed{}, err
	}
	empty := func(v string) string {
		if v == "(empty)" {
			return ""
		}
		return v
	}
	sn := sniffed{read: map[string]string{
		"delim":    connectors.QuoteString(empty(delim)),
		"quote":    connectors.QuoteString(empty(quote)),
		"escape":   connectors.QuoteString(empty(escape)),
		"new_line": connectors.QuoteString(empty(newline)),
		"comment":  connectors.QuoteString(empty(comment)),
		"skip":     strconv.FormatInt(skip, 10),
		"header":   strconv.FormatBool(header),
	}}
	if datefmt.Valid && datefmt.String != "" {
		sn.read["dateformat"] = connectors.QuoteString(datefmt.String)
	}
	if tsfmt.Valid && tsfmt.String != "" {
		sn.read["timestampformat"] = connectors.QuoteString(tsfmt.String)
	}
	var list []struct{ Name, Type string }
	if err := json.Unmarshal([]byte(cols), &list); err != nil {
		return sniffed{}, fmt.Errorf("sniffer's columns: %w", err)
	}
	for _, c := range list {
		sn.columns = append(sn.columns, connectors.Column{Name: c.Name, Type: c.Type})
	}
	// What the user set stands; the sniffer fills in the rest.
	for k, v := range user {
		sn.read[k] = v
	}
	return sn, nil
}

// Inspect sniffs the file's dialect and schema once with DuckDB's sniffer
// (unless qry.yaml gives the columns), keeps the whole dialect for reading
// (FileInfo.Read), then reads the file once with it to count rows and
// compute min/max/null counts. A file DuckDB cannot read fails here with
// DuckDB's reason, naming the file and line.
//
// Encodings: a little-endian UTF-16 byte-order mark selects utf-16 (a
// big-endian one is refused: DuckDB has no reader for it); a file that is not
// valid UTF-8 is read as latin-1 (FileInfo.Read says so); qry.yaml's
// encoding option overrides both.
func (c Connector) Inspect(ctx context.Context, db *sql.DB, path string, opts map[string]string) (connectors.FileInfo, error) {
	user, err := userOptions(path, opts)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	if opts["on_error"] == "reject" {
		// Sniffed and read as DuckDB does when told to skip bad lines.
		user["ignore_errors"] = "true"
	}
	if _, ok := user["encoding"]; !ok {
		enc, err := c.bomEncoding(ctx, path)
		if err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, err)
		}
		if enc != "" {
			user["encoding"] = connectors.QuoteString(enc)
		}
	}
	var cols []connectors.Column
	read := user
	if spec, ok := opts["columns"]; ok {
		cols, err = ParseColumns(spec)
		if err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, err)
		}
		if _, ok := read["header"]; !ok {
			read["header"] = "true"
		}
	} else {
		sn, err := sniff(ctx, db, path, user)
		if err != nil && strings.Contains(err.Error(), "Invalid unicode") && user["encoding"] == "" {
			latin := map[string]string{"encoding": "'latin-1'"}
			for k, v := range user {
				latin[k] = v
			}
			if sn2, err2 := sniff(ctx, db, path, latin); err2 == nil {
				sn, err = sn2, nil
			}
		}
		if err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
		}
		cols, read = sn.columns, sn.read
	}
	if opts["on_error"] == "reject" {
		return inspectRejecting(ctx, db, path, read, cols)
	}
	n, stats, err := connectors.ColumnStatsSQL(ctx, db, readExpr([]string{path}, read, cols, ""), cols)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	return connectors.FileInfo{Columns: cols, Rows: n, Stats: stats, Read: read}, nil
}

// inspectRejecting reads a file that may have bad lines (on_error:
// reject): DuckDB's store_rejects keeps the lines it leaves out, which
// become the file's Rejects; read has ignore_errors, so the file is always
// read skipping them.
func inspectRejecting(ctx context.Context, db *sql.DB, path string, read map[string]string, cols []connectors.Column) (connectors.FileInfo, error) {
	conn, err := db.Conn(ctx) // the rejects tables are the connection's
	if err != nil {
		return connectors.FileInfo{}, err
	}
	defer conn.Close()
	withRejects := map[string]string{
		"store_rejects": "true", "rejects_table": "'qry_reject_errors'", "rejects_scan": "'qry_reject_scans'",
		"rejects_limit": strconv.Itoa(connectors.MaxRejects),
	}
	for k, v := range read {
		withRejects[k] = v
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS temp.qry_reject_errors; DROP TABLE IF EXISTS temp.qry_reject_scans")
	}()
	n, stats, err := connectors.ColumnStatsSQL(ctx, conn, readExpr([]string{path}, withRejects, cols, ""), cols)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, connectors.CleanError(err))
	}
	rows, err := conn.QueryContext(ctx, "SELECT line, coalesce(column_name, ''), error_message, coalesce(csv_line, '') FROM temp.qry_reject_errors ORDER BY line, column_idx")
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: rejected lines: %w", path, err)
	}
	defer rows.Close()
	var rejects []connectors.Reject
	for rows.Next() {
		var r connectors.Reject
		if err := rows.Scan(&r.Line, &r.Column, &r.Error, &r.Text); err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: rejected lines: %w", path, err)
		}
		r.Error = strings.Join(strings.Fields(r.Error), " ")
		rejects = append(rejects, r)
	}
	if err := rows.Err(); err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: rejected lines: %w", path, err)
	}
	return connectors.FileInfo{Columns: cols, Rows: n, Stats: stats, Read: read, Rejects: rejects}, nil
}

// readExpr is a read_csv call over files of one dialect and one column
// list (cols: their names in file order, with the types to read them as).
//
// A column name with a NUL byte cannot travel in SQL text (DuckDB takes
// the text as a C string): such files are read with the same dialect and
// the types by position, and DuckDB takes the names from the header again.
func readExpr(files []string, read map[string]string, cols []connectors.Column, hive string) string {
	if hive == "" {
		hive = ", hive_partitioning=false"
	}
	if !connectors.NulNames(cols) {
		return fmt.Sprintf("read_csv(%s, auto_detect=false%s, columns=%s%s)", connectors.FileList(files), args(read), connectors.StructLiteral(cols), hive)
	}
	types := make([]string, len(cols))
	for i, c := range cols {
		types[i] = connectors.QuoteString(c.Type)
	}
	return fmt.Sprintf("read_csv(%s%s, types=[%s]%s)", connectors.FileList(files), args(read), strings.Join(types, ", "), hive)
}

// Scan reads the files with read_csv, each with its own dialect and
// columns, typed as the table's columns (see connectors.GroupedScan).
func (Connector) Scan(spec connectors.ScanSpec) (string, error) {
	return connectors.GroupedScan(spec, readExpr)
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
