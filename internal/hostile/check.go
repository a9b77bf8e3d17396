package hostile

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/qry-dev/qry/fault"
)

// Answer is what a front end answered to a case.
type Answer struct {
	// OK: the statement ran to its end.
	OK bool
	// Forbidden: the front end's refusal (PERMISSION_DENIED, 403, or the
	// shell's "not allowed").
	Forbidden bool
	// Invalid: the front end's bad request (INVALID_ARGUMENT, 400).
	Invalid bool
	// Kind is the error's kind, as the front end reported it.
	Kind fault.Kind
	// Msg is the error message, if any.
	Msg string
}

// Check reports how an answer falls short of what the case wants, or nil.
// Whatever a case wants, DuckDB must never have had to refuse to open a
// file: that would be the gate letting a file access through, caught only
// by the second line.
func (c Case) Check(a Answer) error {
	if fileRefused(a.Msg) {
		return fmt.Errorf("the gate let a file access through (DuckDB refused it): %s", a.Msg)
	}
	syntax := a.Invalid && Syntax(a.Kind)
	switch c.Want {
	case Refused:
		if !a.Forbidden {
			return fmt.Errorf("want refused by the gate, got ok=%v invalid=%v: %q", a.OK, a.Invalid, a.Msg)
		}
	case Invalid:
		if !syntax {
			return fmt.Errorf("want a syntax error (or several statements) refused, got ok=%v forbidden=%v: %q", a.OK, a.Forbidden, a.Msg)
		}
	case RefusedOrInvalid:
		if !a.Forbidden && !syntax {
			return fmt.Errorf("want refused or a syntax error, got ok=%v invalid=%v: %q", a.OK, a.Invalid, a.Msg)
		}
	}
	return nil
}

// Syntax reports whether an error of kind k is a refusal before anything
// ran: a syntax error, several statements, no statement.
func Syntax(k fault.Kind) bool { return k == fault.Syntax || k == fault.Statement }

// fileRefused reports whether DuckDB refused to open a file (DuckDB's
// words for it, whatever the front end made of its class).
func fileRefused(msg string) bool {
	return strings.Contains(msg, "file system operations are disabled")
}

// Log collects log lines, to check that none shows the marker.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (l *Log) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(b)
}

// String is everything logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger logs every level to l.
func (l *Log) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
