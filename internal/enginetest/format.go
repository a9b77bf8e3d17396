package enginetest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/qry-dev/qry/fault"
)

// File is one parsed .test file.
type File struct {
	Name    string // base name, without .test
	Fixture string // the fixture set (internal/fixture)
	Sandbox bool   // the engine runs sandboxed (the default)
	Records []Record
}

// Type is what a record asks.
type Type int

// The record types.
const (
	Statement Type = iota // statement ok | count N | error KIND
	Query                 // query TYPES [rowsort] [matches duckdb]
	Plan                  // plan: qry's EXPLAIN lines
)

// Record is one block of a file.
type Record struct {
	Line int // of the record's first line
	Type Type
	// Known are front ends through which the record is known to fail, with
	// the reason: it is skipped there, and fails if it passes.
	Known  map[string]string
	SQL    string
	Params []any // int64, float64, string, bool or nil

	// Statement: Err is the Kind of the expected failure (OK: none);
	// Count >= 0 is the number of rows an INSERT writes.
	OK           bool
	Count        int64
	Err          fault.Kind
	ErrLine      int // with ErrCol, the position the error names; 0: unchecked
	ErrCol       int
	ErrSubstring string // a text the message holds; "": unchecked

	// Query.
	Types   string // one letter per column: I R T B D X
	RowSort bool
	Matches bool       // the answer is DuckDB's over the reference views
	Rows    [][]string // expected rows (Query) or plan lines (Plan, one column)
}

// Name is the record's subtest name: its line.
func (rec Record) Name() string { return strconv.Itoa(rec.Line) }

// lineError is a parse error at a line.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("%d: %s", e.line, e.msg) }

// errFormat is wrapped by every parse error.
var errFormat = errors.New("query file")

func bad(line int, format string, args ...any) error {
	return fmt.Errorf("%w: %w", errFormat, &lineError{line: line, msg: fmt.Sprintf(format, args...)})
}

// headers are the keys a file may set before its first record.
var headers = map[string]bool{"fixture": true, "sandbox": true}

// Parse reads a file's records. Blocks are separated by blank lines;
// lines starting with # are comments, and "# key: value" lines before the
// first record are the file's settings (fixture, sandbox).
func Parse(r io.Reader) (*File, error) {
	f := &File{Sandbox: true}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var block []string
	start, n := 0, 0
	flush := func() error {
		if len(block) == 0 {
			return nil
		}
		rec, err := parseRecord(block, start)
		block = nil
		if err != nil {
			return err
		}
		f.Records = append(f.Records, rec)
		return nil
	}
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") && len(block) == 0 {
			if len(f.Records) == 0 {
				if err := f.header(line, n); err != nil {
					return nil, err
				}
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if len(block) == 0 {
			start = n
		}
		block = append(block, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if f.Fixture == "" {
		return nil, bad(1, "no '# fixture: NAME' header")
	}
	return f, nil
}

// header reads a "# key: value" line; other comments pass.
func (f *File) header(line string, n int) error {
	key, val, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
	if !ok || strings.ContainsAny(key, " \t") || key == "" || strings.ToLower(key) != key {
		return nil // prose
	}
	if !headers[key] {
		return bad(n, "unknown setting %q (fixture, sandbox)", key)
	}
	val = strings.TrimSpace(val)
	switch key {
	case "fixture":
		f.Fixture = val
	case "sandbox":
		switch val {
		case "on":
			f.Sandbox = true
		case "off":
			f.Sandbox = false
		default:
			return bad(n, "sandbox: on or off, not %q", val)
		}
	}
	return nil
}

// parseRecord reads one block: its first line says what it is.
func parseRecord(block []string, line int) (Record, error) {
	rec := Record{Line: line, Count: -1}
	for len(block) > 1 && strings.HasPrefix(block[0], "known ") {
		name, reason, ok := strings.Cut(strings.TrimPrefix(block[0], "known "), ":")
		if !ok || !slices.Contains(FrontEnds(), name) || strings.TrimSpace(reason) == "" {
			return rec, bad(line, "known FRONTEND: REASON, with a front end of %s", strings.Join(FrontEnds(), ", "))
		}
		if rec.Known == nil {
			rec.Known = map[string]string{}
		}
		rec.Known[name] = strings.TrimSpace(reason)
		block = block[1:]
		line++
	}
	rec.Line = line
	words := strings.Fields(block[0])
	sqlLines, result, hasResult := cutResult(block[1:])
	for i := 0; i < len(sqlLines); i++ {
		if !strings.HasPrefix(sqlLines[i], "params:") {
			continue
		}
		params, err := parseParams(strings.TrimPrefix(sqlLines[i], "params:"))
		if err == nil && rec.Params != nil {
			err = errors.New("one params: line per record")
		}
		if err != nil {
			return rec, bad(line+1+i, "%v", err)
		}
		rec.Params = params
		sqlLines = slices.Delete(sqlLines, i, i+1)
		i--
	}
	rec.SQL = strings.Join(sqlLines, "\n")
	if words[0] != "statement" && words[0] != "query" && words[0] != "plan" {
		return rec, bad(line, "unknown record %q (statement, query, plan)", words[0])
	}
	if strings.TrimSpace(rec.SQL) == "" {
		return rec, bad(line, "%s: no SQL", words[0])
	}
	switch words[0] {
	case "statement":
		rec.Type = Statement
		if err := rec.statement(words[1:], result, hasResult); err != nil {
			return rec, bad(line, "%v", err)
		}
	case "query":
		rec.Type = Query
		if err := rec.query(words[1:], result, hasResult); err != nil {
			return rec, bad(line, "%v", err)
		}
	case "plan":
		rec.Type = Plan
		if len(words) != 1 || !hasResult {
			return rec, bad(line, "plan takes no arguments and needs ---- and the plan's lines")
		}
		for _, l := range result {
			rec.Rows = append(rec.Rows, []string{l})
		}
	}
	return rec, nil
}

// cutResult splits a block's lines at "----".
func cutResult(lines []string) (sql, result []string, ok bool) {
	for i, l := range lines {
		if l == "----" {
			return lines[:i], lines[i+1:], true
		}
	}
	return lines, nil, false
}

func (rec *Record) statement(args, result []string, hasResult bool) error {
	if len(args) == 0 {
		return errors.New("statement ok, statement count N or statement error KIND")
	}
	switch args[0] {
	case "ok":
		rec.OK = true
		if len(args) != 1 || hasResult {
			return errors.New("statement ok takes nothing more")
		}
	case "count":
		n, err := strconv.ParseInt(strings.Join(args[1:], ""), 10, 64)
		if err != nil || len(args) != 2 || hasResult || n < 0 {
			return errors.New("statement count N: N rows written")
		}
		rec.OK, rec.Count = true, n
	case "error":
		if len(args) < 2 {
			return errors.New("statement error KIND [at LINE:COLUMN]")
		}
		k, ok := fault.Parse(args[1])
		if !ok {
			return fmt.Errorf("unknown kind %q (see package fault)", args[1])
		}
		rec.Err = k
		if len(args) > 2 {
			if len(args) != 4 || args[2] != "at" {
				return errors.New("statement error KIND [at LINE:COLUMN]")
			}
			l, c, ok := strings.Cut(args[3], ":")
			var err1, err2 error
			rec.ErrLine, err1 = strconv.Atoi(l)
			rec.ErrCol, err2 = strconv.Atoi(c)
			if !ok || err1 != nil || err2 != nil || rec.ErrLine <= 0 || rec.ErrCol <= 0 {
				return fmt.Errorf("position %q: want LINE:COLUMN", args[3])
			}
		}
		if hasResult {
			if len(result) != 1 || result[0] == "" {
				return errors.New("statement error: after ----, one line the message holds")
			}
			rec.ErrSubstring = result[0]
		}
	default:
		return fmt.Errorf("statement %q: ok, count or error", args[0])
	}
	return nil
}

func (rec *Record) query(args, result []string, hasResult bool) error {
	if len(args) == 0 {
		return errors.New("query TYPES [rowsort|nosort] [matches duckdb]")
	}
	rec.Types = args[0]
	for _, c := range rec.Types {
		if !strings.ContainsRune("IRTBDX", c) {
			return fmt.Errorf("type letter %q: one of I R T B D X", c)
		}
	}
	for i := 1; i < len(args); i++ {
		switch {
		case args[i] == "rowsort":
			rec.RowSort = true
		case args[i] == "nosort":
		case args[i] == "matches" && i+1 < len(args) && args[i+1] == "duckdb":
			rec.Matches = true
			i++
		default:
			return fmt.Errorf("query option %q: rowsort, nosort or matches duckdb", args[i])
		}
	}
	if rec.Matches == hasResult {
		return errors.New("a query has either rows after ---- or matches duckdb")
	}
	for _, l := range result {
		row := strings.Split(l, "\t")
		if len(row) != len(rec.Types) {
			return fmt.Errorf("row %q has %d values, the types say %d", l, len(row), len(rec.Types))
		}
		rec.Rows = append(rec.Rows, row)
	}
	return nil
}

// parseParams reads "v1, v2, ...": integers, decimals, 'strings' (two
// quotes for one), true, false and NULL.
func parseParams(s string) ([]any, error) {
	var out []any
	for s = strings.TrimSpace(s); s != ""; {
		var v any
		var err error
		if v, s, err = paramToken(s); err != nil {
			return nil, err
		}
		out = append(out, v)
		if s = strings.TrimSpace(s); s == "" {
			break
		}
		if s[0] != ',' {
			return nil, fmt.Errorf("params: want a comma before %q", s)
		}
		if s = strings.TrimSpace(s[1:]); s == "" {
			return nil, errors.New("params: a value must follow the last comma")
		}
	}
	return out, nil
}

// paramToken reads one value from the start of s and returns the rest.
func paramToken(s string) (any, string, error) {
	if s[0] != '\'' {
		tok, rest, found := strings.Cut(s, ",")
		if found {
			rest = "," + rest
		}
		v, err := paramValue(strings.TrimSpace(tok))
		return v, rest, err
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] != '\'':
			b.WriteByte(s[i])
		case i+1 < len(s) && s[i+1] == '\'':
			b.WriteByte('\'')
			i++
		default:
			return b.String(), s[i+1:], nil
		}
	}
	return nil, "", fmt.Errorf("params: unterminated string in %q", s)
}

func paramValue(tok string) (any, error) {
	switch strings.ToLower(tok) {
	case "null":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(tok, 64); err == nil {
		return f, nil
	}
	return nil, fmt.Errorf("params: %q is not a number, 'string', true, false or NULL", tok)
}
