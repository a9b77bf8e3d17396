package shell

import "strings"

// splitStatements cuts complete statements (ended by ';' outside quotes and
// comments) off the front of buf and returns them with the unfinished rest.
func splitStatements(buf string) (stmts []string, rest string) {
	start := 0
	inSingle, inDouble, inLine, inBlock := false, false, false, false
	for i := 0; i < len(buf); i++ {
		c := buf[i]
		switch {
		case inLine:
			if c == '\n' {
				inLine = false
			}
		case inBlock:
			if c == '*' && i+1 < len(buf) && buf[i+1] == '/' {
				inBlock = false
				i++
			}
		case inSingle:
			if c == '\'' {
				inSingle = false
			}
		case inDouble:
			if c == '"' {
				inDouble = false
			}
		case c == '\'':
			inSingle = true
		case c == '"':
			inDouble = true
		case c == '-' && i+1 < len(buf) && buf[i+1] == '-':
			inLine = true
		case c == '/' && i+1 < len(buf) && buf[i+1] == '*':
			inBlock = true
		case c == ';':
			if s := strings.TrimSpace(buf[start:i]); s != "" && !onlyComments(s) {
				stmts = append(stmts, s)
			}
			start = i + 1
		}
	}
	return stmts, buf[start:]
}

// onlyComments reports whether s holds nothing but comments.
func onlyComments(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "--") {
			return false
		}
	}
	return true
}
