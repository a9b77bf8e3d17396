package sql

import (
	"bytes"
	"context"
	dbsql "database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	// DuckDB's database/sql driver, for its parser only.
	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/qry-dev/qry/fault"
)

// ErrNotSelect is returned by Parse for statements other than SELECT
// (DuckDB serializes only those).
var ErrNotSelect = fault.New(fault.Statement, "not a SELECT statement")

// ErrParse is wrapped by Parse's errors other than ErrNotSelect,
// ErrMultipleStatements and ErrEmpty. A *SyntaxError is the statement's
// fault; any other is qry's.
var ErrParse = fault.New(fault.Internal, "parse")

// ErrMultipleStatements is returned for text holding more than one
// statement.
var ErrMultipleStatements = fault.New(fault.Statement, "one statement at a time")

// ErrEmpty is returned for text holding no statement.
var ErrEmpty = fault.New(fault.Statement, "no SQL statement")

// Parser parses SQL with DuckDB's parser. It holds a private in-memory DuckDB
// that never sees data. Safe for concurrent use.
type Parser struct {
	db *dbsql.DB
}

// OpenParser starts the parser.
func OpenParser() (*Parser, error) {
	db, err := dbsql.Open("duckdb", "?threads=1&memory_limit=256MB&autoload_known_extensions=false&autoinstall_known_extensions=false")
	if err != nil {
		return nil, fmt.Errorf("open parser: %w", err)
	}
	return &Parser{db: db}, nil
}

// Close stops the parser.
func (p *Parser) Close() error { return p.db.Close() }

// Statement is one parsed SELECT statement.
type Statement struct {
	// Text is the SQL the statement was parsed from.
	Text string
	// Node is the statement's query node as DuckDB serializes it.
	Node map[string]any
}

// Parse parses one SELECT statement.
func (p *Parser) Parse(ctx context.Context, text string) (*Statement, error) {
	var out string
	if err := p.db.QueryRowContext(ctx, "SELECT json_serialize_sql($1::VARCHAR)::VARCHAR", text).Scan(&out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParse, err)
	}
	return decode(text, []byte(out))
}

func decode(text string, js []byte) (*Statement, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var doc struct {
		Error        bool   `json:"error"`
		ErrorType    string `json:"error_type"`
		ErrorMessage string `json:"error_message"`
		Position     string `json:"position"`
		Statements   []struct {
			Node map[string]any `json:"node"`
		} `json:"statements"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParse, err)
	}
	switch {
	case doc.Error && doc.ErrorType == "not implemented":
		return nil, ErrNotSelect
	case doc.Error && doc.ErrorType == "parser":
		se := &SyntaxError{Msg: doc.ErrorMessage, Offset: -1}
		if n, err := strconv.Atoi(doc.Position); err == nil && n >= 0 && n <= len(text) {
			se.Offset = n
		}
		return nil, se
	case doc.Error:
		return nil, fmt.Errorf("%w: %s", ErrParse, doc.ErrorMessage)
	case len(doc.Statements) == 0:
		return nil, ErrEmpty
	case len(doc.Statements) > 1:
		return nil, fmt.Errorf("%w: found %d statements", ErrMultipleStatements, len(doc.Statements))
	case doc.Statements[0].Node == nil:
		return nil, fmt.Errorf("%w: no query node", ErrParse)
	}
	return &Statement{Text: text, Node: doc.Statements[0].Node}, nil
}

// SyntaxError is DuckDB's parser's verdict on a statement, in its words
// without its class ("Parser Error: "): the kind of error is the type. It
// wraps ErrParse.
type SyntaxError struct {
	Msg string
	// Offset is the byte offset of the error in the parsed text, -1 when
	// unknown.
	Offset int
}

func (e *SyntaxError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrParse) true.
func (e *SyntaxError) Unwrap() error { return ErrParse }

// LineCol turns a byte offset into text into a 1-based line and column
// (columns count characters).
func LineCol(text string, offset int) (line, col int) {
	if offset < 0 || offset > len(text) {
		return 0, 0
	}
	before := text[:offset]
	line = strings.Count(before, "\n") + 1
	col = len([]rune(before[strings.LastIndexByte(before, '\n')+1:])) + 1
	return line, col
}

// Functions are the names of every function the statement calls (scalar,
// aggregate, window and table functions), lower-cased, once each.
func (st *Statement) Functions() []string {
	return st.collect(func(m map[string]any) string {
		name, _ := m["function_name"].(string)
		return name
	})
}

// sqlValueFunctions are the SQL standard's functions without parentheses:
// DuckDB's parser leaves them column references, and its binder makes them
// calls (current_timestamp is get_current_timestamp()) when no column has
// the name.
var sqlValueFunctions = map[string]bool{
	"current_catalog": true, "current_date": true, "current_schema": true, "current_role": true,
	"current_time": true, "current_timestamp": true, "current_user": true, "localtime": true,
	"localtimestamp": true, "session_user": true, "user": true,
}

// ValueFunctions are the column references of the statement that DuckDB
// may bind as SQL value functions (current_timestamp, user, ...).
func (st *Statement) ValueFunctions() []string {
	return st.collect(func(m map[string]any) string {
		if m["class"] != "COLUMN_REF" {
			return ""
		}
		parts, _ := m["column_names"].([]any)
		if len(parts) != 1 {
			return ""
		}
		name, _ := parts[0].(string)
		if !sqlValueFunctions[strings.ToLower(name)] {
			return ""
		}
		return name
	})
}

// TableNames are the names of every named relation the statement reads
// (catalog tables, views, CTE references alike), lower-cased, once each.
func (st *Statement) TableNames() []string {
	return st.collect(func(m map[string]any) string {
		if m["type"] != "BASE_TABLE" {
			return ""
		}
		name, _ := m["table_name"].(string)
		return name
	})
}

// collect walks the whole tree and gathers what pick finds in its maps.
func (st *Statement) collect(pick func(map[string]any) string) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if n := strings.ToLower(pick(x)); n != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(st.Node)
	return out
}
