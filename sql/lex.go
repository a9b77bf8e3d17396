package sql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// TokenKind is a lexical token's kind.
type TokenKind int

// Token kinds.
const (
	Word         TokenKind = iota + 1 // a keyword or an unquoted identifier
	QuotedIdent                       // "name" ("" inside stands for ")
	Str                               // 'text', E'text', $$text$$, $tag$text$tag$
	Num                               // 12, 1.5e3, .5
	Param                             // ?, $1
	Punct                             // one character: ( ) , ; . and operators
	Comment                           // -- to the end of the line, or /* ... */ (nested)
	Unterminated                      // a quote or comment that never ends: the rest of the text
)

// Token is one token of SQL text: Text[Start:End].
type Token struct {
	Kind       TokenKind
	Start, End int
}

// Lex splits SQL text into tokens the way DuckDB's scanner does, as far as
// statement boundaries, comments and quoting go: comments (nested block
// comments too), single-quoted strings with ” and, in E” strings,
// backslash escapes, dollar-quoted strings, and quoted identifiers. White
// space is not a token. An unterminated quote or comment becomes one
// Unterminated token that runs to the end.
func Lex(text string) []Token {
	var out []Token
	i := 0
	for i < len(text) {
		switch text[i] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			i++
			continue
		}
		start := i
		kind, end := lexOne(text, i)
		out = append(out, Token{Kind: kind, Start: start, End: end})
		i = end
	}
	return out
}

// lexOne reads the token starting at i.
func lexOne(s string, i int) (TokenKind, int) {
	c := s[i]
	switch {
	case c == '-' && i+1 < len(s) && s[i+1] == '-':
		// DuckDB's scanner ends a line comment at either line end.
		j := strings.IndexAny(s[i:], "\r\n")
		if j < 0 {
			return Comment, len(s)
		}
		return Comment, i + j + 1
	case c == '/' && i+1 < len(s) && s[i+1] == '*':
		depth, j := 1, i+2
		for j < len(s) {
			switch {
			case strings.HasPrefix(s[j:], "/*"):
				depth++
				j += 2
			case strings.HasPrefix(s[j:], "*/"):
				depth--
				j += 2
				if depth == 0 {
					return Comment, j
				}
			default:
				j++
			}
		}
		return Unterminated, len(s)
	case c == '\'':
		return quoted(s, i+1, '\'', false, Str)
	case (c == 'e' || c == 'E') && i+1 < len(s) && s[i+1] == '\'':
		return quoted(s, i+2, '\'', true, Str)
	case c == '"':
		return quoted(s, i+1, '"', false, QuotedIdent)
	case c == '$':
		if j := i + 1; j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			return Param, j
		}
		// $tag$ ... $tag$ (the tag may be empty).
		j := i + 1
		for j < len(s) && isIdentByte(s, j) {
			_, n := utf8.DecodeRuneInString(s[j:])
			j += n
		}
		if j < len(s) && s[j] == '$' && (j == i+1 || !isDigit(s[i+1])) {
			tag := s[i : j+1]
			k := strings.Index(s[j+1:], tag)
			if k < 0 {
				return Unterminated, len(s)
			}
			return Str, j + 1 + k + len(tag)
		}
		return Punct, i + 1
	case c == '?':
		return Param, i + 1
	case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
		j := i
		for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == '_') {
			j++
		}
		if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			if k < len(s) && isDigit(s[k]) {
				j = k
				for j < len(s) && isDigit(s[j]) {
					j++
				}
			}
		}
		return Num, j
	case isIdentStart(s, i):
		j := i
		for j < len(s) && (isIdentByte(s, j) || s[j] == '$') {
			_, n := utf8.DecodeRuneInString(s[j:])
			j += n
		}
		return Word, j
	}
	_, n := utf8.DecodeRuneInString(s[i:])
	return Punct, i + n
}

// quoted reads a quoted token whose body starts at i; a doubled quote
// stands for one, and with backslash a backslash escapes the next byte.
func quoted(s string, i int, q byte, backslash bool, kind TokenKind) (TokenKind, int) {
	for i < len(s) {
		switch {
		case backslash && s[i] == '\\':
			i += 2
		case s[i] == q && i+1 < len(s) && s[i+1] == q:
			i += 2
		case s[i] == q:
			return kind, i + 1
		default:
			i++
		}
	}
	return Unterminated, len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(s string, i int) bool {
	c := s[i]
	if c < utf8.RuneSelf {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r)
}

func isIdentByte(s string, i int) bool {
	c := s[i]
	if c < utf8.RuneSelf {
		return c == '_' || isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// IsWord reports whether t is the unquoted keyword w (any case).
func (t Token) IsWord(text, w string) bool {
	return t.Kind == Word && strings.EqualFold(text[t.Start:t.End], w)
}

// Is reports whether t is the punctuation p.
func (t Token) Is(text, p string) bool {
	return t.Kind == Punct && text[t.Start:t.End] == p
}

// Ident is the name t stands for: an unquoted word as written, a quoted
// identifier unquoted. ok is false for other tokens.
func (t Token) Ident(text string) (string, bool) {
	switch t.Kind {
	case Word:
		return text[t.Start:t.End], true
	case QuotedIdent:
		return strings.ReplaceAll(text[t.Start+1:t.End-1], `""`, `"`), true
	}
	return "", false
}

// Code is the tokens of text without comments.
func Code(text string) []Token {
	toks := Lex(text)
	out := toks[:0]
	for _, t := range toks {
		if t.Kind != Comment {
			out = append(out, t)
		}
	}
	return out
}

// Split splits a script into statements at semicolons outside quotes and
// comments. Each statement keeps its text (comments included) without the
// semicolon; statements of only white space and comments are dropped. rest
// is the text after the last semicolon, if it holds more than white space
// and comments (an unfinished statement), as it is.
func Split(text string) (stmts []string, rest string) {
	start, code := 0, false
	for _, t := range Lex(text) {
		switch {
		case t.Is(text, ";"):
			if code {
				stmts = append(stmts, strings.TrimSpace(text[start:t.Start]))
			}
			start, code = t.End, false
		case t.Kind != Comment:
			code = true
		}
	}
	if code {
		rest = text[start:]
	}
	return stmts, rest
}
