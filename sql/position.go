package sql

import (
	"strings"
	"unicode/utf8"
)

// Offset is the byte offset of a 1-based line and column (in runes) in
// text: the inverse of LineCol; -1 when text has no such place.
func Offset(text string, line, col int) int {
	off := 0
	for range line - 1 {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for range col - 1 {
		if off >= len(text) {
			return -1
		}
		_, size := utf8.DecodeRuneInString(text[off:])
		off += size
	}
	return off
}

// MapOffset maps a byte offset in ran, a rewrite of user (references
// replaced, a prefix added), to the same place in user: the two share a
// prefix and a suffix (each cut back so that no word is split between the
// shared and the changed part); an offset in either maps, one in between
// does not.
func MapOffset(ran, user string, off int) (int, bool) {
	if off < 0 || off > len(ran) {
		return 0, false
	}
	p := 0
	for p < len(ran) && p < len(user) && ran[p] == user[p] {
		p++
	}
	for p > 0 && isWordByte(ran[p-1]) && (p < len(ran) && isWordByte(ran[p]) || p < len(user) && isWordByte(user[p])) {
		p--
	}
	s := 0
	for s < len(ran)-p && s < len(user)-p && ran[len(ran)-1-s] == user[len(user)-1-s] {
		s++
	}
	for s > 0 {
		i, j := len(ran)-s, len(user)-s
		if !isWordByte(ran[i]) || !(i > 0 && isWordByte(ran[i-1]) || j > 0 && isWordByte(user[j-1])) {
			break
		}
		s--
	}
	switch {
	case off < p:
		return off, true
	case off >= len(ran)-s && s > 0:
		return off - len(ran) + len(user), true
	}
	return 0, false
}

// isWordByte reports whether b may be part of a word: an identifier, a
// keyword, a number, or any byte of a non-ASCII character.
func isWordByte(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// Like reports whether s matches a LIKE pattern: % any run of characters,
// _ any one character, \ escapes the next; case matters.
func Like(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	r, size := utf8.DecodeRuneInString(pattern)
	rest := pattern[size:]
	switch {
	case r == '%':
		for i := 0; ; {
			if Like(rest, s[i:]) {
				return true
			}
			if i >= len(s) {
				return false
			}
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
		}
	case r == '_':
		if s == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(s)
		return Like(rest, s[n:])
	case r == '\\' && rest != "":
		r, size = utf8.DecodeRuneInString(rest)
		rest = rest[size:]
	}
	c, n := utf8.DecodeRuneInString(s)
	return s != "" && c == r && Like(rest, s[n:])
}
