package shell

import (
	"sort"
	"strings"
	"unicode"
)

var keywords = strings.Fields(`SELECT FROM WHERE GROUP BY ORDER HAVING LIMIT OFFSET JOIN LEFT RIGHT FULL
OUTER INNER CROSS ON USING AS AND OR NOT IN IS NULL BETWEEN LIKE ILIKE DISTINCT COUNT SUM AVG MIN MAX
CASE WHEN THEN ELSE END WITH UNION ALL EXCEPT INTERSECT EXPLAIN DESCRIBE SUMMARIZE ASC DESC CAST
DATE TIMESTAMP INTERVAL TRUE FALSE EXISTS QUALIFY WINDOW OVER PARTITION`)

var metaCommands = []string{".help", ".tables", ".schema", ".describe", ".mode", ".timer", ".output", ".read", ".refresh", ".quit", ".exit"}

// completer completes the word under the cursor with meta-commands,
// keywords, table names and column names.
type completer struct {
	tables func() []Table
}

func (c *completer) complete(line string, pos int) (head string, completions []string, tail string) {
	if pos > len(line) {
		pos = len(line)
	}
	start := pos
	for start > 0 {
		r := rune(line[start-1])
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '"' {
			start--
			continue
		}
		break
	}
	head, word, tail := line[:start], line[start:pos], line[pos:]
	if word == "" {
		return head, nil, tail
	}
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			completions = append(completions, s)
		}
	}
	if strings.HasPrefix(word, ".") && strings.TrimSpace(head) == "" {
		for _, m := range metaCommands {
			if strings.HasPrefix(m, word) {
				add(m)
			}
		}
		return head, completions, tail
	}
	lower := strings.ToLower(word)
	tables := c.tables()
	// alias.col or table.col
	if dot := strings.LastIndexByte(word, '.'); dot > 0 {
		prefix, part := word[:dot+1], strings.ToLower(word[dot+1:])
		for _, t := range tables {
			for _, col := range t.Columns {
				if strings.HasPrefix(strings.ToLower(col.Name), part) {
					add(prefix + col.Name)
				}
			}
		}
		sort.Strings(completions)
		return head, completions, tail
	}
	for _, t := range tables {
		if strings.HasPrefix(strings.ToLower(t.Name), lower) {
			add(t.Name)
		}
	}
	for _, t := range tables {
		for _, col := range t.Columns {
			if strings.HasPrefix(strings.ToLower(col.Name), lower) {
				add(col.Name)
			}
		}
	}
	for _, k := range keywords {
		if strings.HasPrefix(strings.ToLower(k), lower) {
			if word == lower {
				add(strings.ToLower(k))
			} else {
				add(k)
			}
		}
	}
	return head, completions, tail
}
