package sql

import (
	"sort"
	"strings"
)

// refSpan finds the end of a table reference starting at loc: a possibly
// qualified name, then the alias (with or without AS) when it has one. It
// returns -1, -1 when the text does not read as expected (a comment in the
// way, say), so the reference is left alone.
func (w *walker) refSpan(loc int, alias string) (int, int) {
	s := w.text
	if loc >= len(s) {
		return -1, -1
	}
	i := loc
	_, i, ok := ident(s, i)
	if !ok {
		return -1, -1
	}
	for {
		j := skipSpace(s, i)
		if j < len(s) && s[j] == '.' {
			_, k, ok := ident(s, skipSpace(s, j+1))
			if !ok {
				return -1, -1
			}
			i = k
			continue
		}
		break
	}
	if alias == "" {
		return loc, i
	}
	j := skipSpace(s, i)
	if j+2 <= len(s) && strings.EqualFold(s[j:j+2], "AS") && (j+2 == len(s) || isSpace(s[j+2]) || s[j+2] == '"') {
		j = skipSpace(s, j+2)
	}
	name, k, ok := ident(s, j)
	if !ok || !strings.EqualFold(name, alias) {
		return -1, -1
	}
	return loc, k
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// ident reads a plain or double-quoted identifier at i.
func ident(s string, i int) (string, int, bool) {
	if i >= len(s) {
		return "", i, false
	}
	if s[i] == '"' {
		var b strings.Builder
		for j := i + 1; j < len(s); j++ {
			if s[j] == '"' {
				if j+1 < len(s) && s[j+1] == '"' {
					b.WriteByte('"')
					j++
					continue
				}
				return b.String(), j + 1, true
			}
			b.WriteByte(s[j])
		}
		return "", i, false
	}
	j := i
	for j < len(s) && (s[j] == '_' || s[j] >= 0x80 || ('a' <= s[j] && s[j] <= 'z') || ('A' <= s[j] && s[j] <= 'Z') || (j > i && (('0' <= s[j] && s[j] <= '9') || s[j] == '$'))) {
		j++
	}
	if j == i {
		return "", i, false
	}
	return s[i:j], j, true
}

// Edit replaces Text[Start:End].
type Edit struct {
	Start, End int
	Text       string
}

// Rewrite applies non-overlapping edits to text.
func Rewrite(text string, edits []Edit) string {
	sorted := append([]Edit(nil), edits...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start > sorted[j].Start })
	for _, e := range sorted {
		text = text[:e.Start] + e.Text + text[e.End:]
	}
	return text
}
