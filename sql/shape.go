package sql

import (
	"fmt"
	"strings"

	"github.com/qry-dev/qry/fault"
)

// ErrShape is wrapped by the errors of SplitExplain: an EXPLAIN whose
// options are not the plain words and strings qry passes on.
var ErrShape = fault.New(fault.Statement, "statement not understood")

// SplitExplain splits text into an EXPLAIN prefix (EXPLAIN, then ANALYZE or
// a parenthesized list of plain options, with any comments between) and the
// statement it explains. Without EXPLAIN, prefix is "" and inner is text.
// The prefix is text[:len(prefix)], so prefix+inner == text.
func SplitExplain(text string) (prefix, inner string, err error) {
	toks := Code(text)
	if len(toks) == 0 || !toks[0].IsWord(text, "explain") {
		return "", text, nil
	}
	i := 1
	switch {
	case i < len(toks) && toks[i].IsWord(text, "analyze"):
		i++
	case i+1 < len(toks) && toks[i].Is(text, "(") && toks[i+1].Kind == Word && !startsQuery(text, toks[i+1]):
		// EXPLAIN (FORMAT json, ANALYZE) ...: words and strings only.
		j := i + 1
		for ; j < len(toks) && !toks[j].Is(text, ")"); j++ {
			if t := toks[j]; t.Kind != Word && t.Kind != Str && !t.Is(text, ",") {
				return "", "", fmt.Errorf("%w: EXPLAIN takes options of plain words and strings", ErrShape)
			}
		}
		if j == len(toks) {
			return "", "", fmt.Errorf("%w: EXPLAIN's options are not closed", ErrShape)
		}
		i = j + 1
	}
	if i == len(toks) {
		return "", "", fmt.Errorf("%w: EXPLAIN of nothing", ErrShape)
	}
	return text[:toks[i].Start], text[toks[i].Start:], nil
}

// Canonical re-renders a statement fragment from its code tokens, one space
// apart: comments go. What qry hands DuckDB around a part the gate
// analysed (an EXPLAIN prefix, an INSERT's column list) is built this way,
// so no comment can hide text from the gate that DuckDB would read.
func Canonical(fragment string) string {
	toks := Code(fragment)
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = fragment[t.Start:t.End]
	}
	return strings.Join(parts, " ")
}

// startsQuery reports whether a word begins a query (so "(SELECT" after
// EXPLAIN is a parenthesized query, not options).
func startsQuery(text string, t Token) bool {
	for _, w := range []string{"select", "with", "values", "from", "table", "pivot", "unpivot", "describe", "show", "summarize"} {
		if t.IsWord(text, w) {
			return true
		}
	}
	return false
}

// Insert is an INSERT statement taken apart by the lexer.
type Insert struct {
	// Target is the table's name as written, qualified parts unquoted:
	// [table], [schema table] or [catalog schema table].
	Target []string
	// TargetText is the target as written.
	TargetText string
	// Columns is the column list as written ("(a, b)"), or "".
	Columns string
	// ColumnNames are the names in Columns, unquoted.
	ColumnNames []string
	// By is "BY NAME" or "BY POSITION" as written, or "".
	By string
	// Source is the rest: VALUES ..., a query, or DEFAULT VALUES.
	Source string
}

// ParseInsert takes apart "INSERT INTO name [(columns)] [BY NAME|POSITION]
// source [;]". Any other statement, and INSERTs of another shape (INSERT OR
// REPLACE, WITH ... INSERT, a target alias), give ok false.
func ParseInsert(text string) (ins *Insert, ok bool) {
	toks := Code(text)
	if len(toks) < 3 || !toks[0].IsWord(text, "insert") || !toks[1].IsWord(text, "into") {
		return nil, false
	}
	ins = &Insert{}
	i := 2
	for {
		name, ok := toks[i].Ident(text)
		if !ok {
			return nil, false
		}
		ins.Target = append(ins.Target, name)
		i++
		if i+1 < len(toks) && toks[i].Is(text, ".") && len(ins.Target) < 3 {
			i++
			continue
		}
		break
	}
	ins.TargetText = text[toks[2].Start:toks[i-1].End]
	if i+1 < len(toks) && toks[i].Is(text, "(") && !startsQuery(text, toks[i+1]) && !toks[i+1].Is(text, "(") {
		j := i + 1
		var names []string
		for ; j < len(toks) && !toks[j].Is(text, ")"); j++ {
			if name, ok := toks[j].Ident(text); ok {
				names = append(names, name)
			} else if !toks[j].Is(text, ",") {
				return nil, false
			}
		}
		if j < len(toks) && toks[j].Is(text, ")") {
			ins.Columns, ins.ColumnNames = text[toks[i].Start:toks[j].End], names
			i = j + 1
		}
	}
	if i+1 < len(toks) && toks[i].IsWord(text, "by") && (toks[i+1].IsWord(text, "name") || toks[i+1].IsWord(text, "position")) {
		ins.By = text[toks[i].Start:toks[i+1].End]
		i += 2
	}
	if i == len(toks) {
		return ins, true
	}
	end := len(toks)
	if toks[end-1].Is(text, ";") {
		end--
	}
	if end <= i {
		return ins, true
	}
	ins.Source = strings.TrimSpace(text[toks[i].Start:toks[end-1].End])
	return ins, true
}

// IsValuesParams reports whether an INSERT's source is one row of bare
// parameters: VALUES (?, ?, ?).
func IsValuesParams(source string) bool {
	toks := Code(source)
	if len(toks) < 4 || !toks[0].IsWord(source, "values") || !toks[1].Is(source, "(") || !toks[len(toks)-1].Is(source, ")") {
		return false
	}
	for i, t := range toks[2 : len(toks)-1] {
		if i%2 == 0 && !(t.Kind == Param && source[t.Start:t.End] == "?") || i%2 == 1 && !t.Is(source, ",") {
			return false
		}
	}
	return len(toks)%2 == 0
}
