package shell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/peterh/liner"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/render"
)

// Options configure a shell. The zero value runs a batch from os.Stdin.
type Options struct {
	// Interactive turns on line editing, history, completion and progress;
	// without it, input is a script that stops at the first error.
	Interactive bool
	// In, Out and Err default to the process's stdin, stdout and stderr.
	In       io.Reader
	Out, Err io.Writer
	// HistoryFile keeps the history across sessions; empty means none.
	HistoryFile string
	// Width is the terminal's width, asked before each result; nil means
	// no limit.
	Width func() int
	// MaxRows is the number of rows a table shows; 0 means 100.
	MaxRows int
}

// ErrQuit ends a shell from a meta-command.
var errQuit = errors.New("quit")

type shell struct {
	b       Backend
	opts    Options
	mode    string
	timer   bool
	out     io.Writer
	outFile *os.File
	tables  []Table
	tablesT time.Time
}

// Run runs a shell over b until the input ends or .quit. In batch mode it
// returns the first error.
func Run(ctx context.Context, b Backend, opts Options) error {
	if opts.In == nil {
		opts.In = os.Stdin
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Err == nil {
		opts.Err = os.Stderr
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = 100
	}
	s := &shell{b: b, opts: opts, mode: "table", out: opts.Out}
	defer s.closeOutput()
	if !opts.Interactive {
		return s.batch(ctx, opts.In, "stdin")
	}
	return s.interactive(ctx)
}

func (s *shell) closeOutput() {
	if s.outFile != nil {
		s.outFile.Close()
		s.outFile = nil
	}
	s.out = s.opts.Out
}

func (s *shell) errorf(format string, args ...any) {
	fmt.Fprintf(s.opts.Err, format+"\n", args...)
}

// tableList returns the tables, cached for a few seconds (completion asks
// on every Tab).
func (s *shell) tableList(ctx context.Context) []Table {
	if s.tables == nil || time.Since(s.tablesT) > 5*time.Second {
		if t, err := s.b.Tables(ctx); err == nil {
			s.tables, s.tablesT = t, time.Now()
		}
	}
	return s.tables
}

func (s *shell) interactive(ctx context.Context) error {
	line := liner.NewLiner()
	defer line.Close()
	line.SetCtrlCAborts(true)
	line.SetTabCompletionStyle(liner.TabPrints)
	comp := &completer{tables: func() []Table { return s.tableList(ctx) }}
	line.SetWordCompleter(comp.complete)
	if s.opts.HistoryFile != "" {
		if f, err := os.Open(s.opts.HistoryFile); err == nil {
			_, _ = line.ReadHistory(f)
			f.Close()
		}
	}
	defer s.saveHistory(line)

	// Ctrl-C while a query runs cancels it; at the prompt, liner sees it.
	sigc := make(chan os.Signal, 1)
	signal.Reset(os.Interrupt)
	signal.Notify(sigc, os.Interrupt)
	defer signal.Stop(sigc)

	fmt.Fprintf(s.opts.Out, "qry shell on %s. End statements with ';'. .help for help, Ctrl-D to quit.\n", s.b.Describe())
	var buf strings.Builder
	for {
		prompt := "qry> "
		if buf.Len() > 0 {
			prompt = "  -> "
		}
		l, err := line.Prompt(prompt)
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			buf.Reset()
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(s.opts.Out)
			return nil
		case err != nil:
			return err
		}
		if buf.Len() == 0 && strings.HasPrefix(strings.TrimSpace(l), ".") {
			line.AppendHistory(strings.TrimSpace(l))
			if err := s.meta(ctx, strings.TrimSpace(l), sigc); errors.Is(err, errQuit) {
				return nil
			} else if err != nil {
				s.errorf("%s", fault.Text(err))
			}
			continue
		}
		buf.WriteString(l)
		buf.WriteByte('\n')
		stmts, rest := splitStatements(buf.String())
		if len(stmts) == 0 {
			if strings.TrimSpace(buf.String()) == "" {
				buf.Reset()
			}
			continue
		}
		line.AppendHistory(strings.TrimSpace(strings.TrimSuffix(buf.String(), rest)))
		buf.Reset()
		if strings.TrimSpace(rest) != "" {
			buf.WriteString(rest)
		}
		for _, st := range stmts {
			if err := s.run(ctx, st, sigc); err != nil {
				s.printError(st, err)
			}
		}
	}
}

func (s *shell) saveHistory(line *liner.State) {
	if s.opts.HistoryFile == "" {
		return
	}
	f, err := os.Create(s.opts.HistoryFile)
	if err != nil {
		s.errorf("history: %v", err)
		return
	}
	defer f.Close()
	_, _ = line.WriteHistory(f)
}

// batch runs a script: statements and meta-commands, stopping at the first
// error.
func (s *shell) batch(ctx context.Context, in io.Reader, name string) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var buf strings.Builder
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		if buf.Len() == 0 && strings.HasPrefix(strings.TrimSpace(l), ".") {
			if err := s.meta(ctx, strings.TrimSpace(l), nil); errors.Is(err, errQuit) {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s line %d: %w", name, n, err)
			}
			continue
		}
		buf.WriteString(l)
		buf.WriteByte('\n')
		stmts, rest := splitStatements(buf.String())
		buf.Reset()
		if strings.TrimSpace(rest) != "" {
			buf.WriteString(rest)
		}
		for _, st := range stmts {
			if err := s.run(ctx, st, nil); err != nil {
				return fmt.Errorf("%s line %d: %w", name, n, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if _, rest := splitStatements(buf.String()); strings.TrimSpace(rest) != "" {
		if err := s.run(ctx, strings.TrimSpace(rest), nil); err != nil {
			return fmt.Errorf("%s line %d: %w", name, n, err)
		}
	}
	return nil
}

// printError shows an error on one line (fault.Text: its kind's label and
// its message); for an error with a position, the statement's line and a
// caret under the column follow.
func (s *shell) printError(stmt string, err error) {
	s.errorf("%s", fault.Text(err))
	ln, col := fault.Position(err)
	if ln == 0 || !s.opts.Interactive {
		return
	}
	lines := strings.Split(stmt, "\n")
	if ln > len(lines) || col < 1 {
		return
	}
	l := lines[ln-1]
	s.errorf("  %s\n  %s^", l, strings.Repeat(" ", min(col-1, len([]rune(l)))))
}

// run runs one statement and renders its result. sigc (interactive only)
// cancels it.
func (s *shell) run(ctx context.Context, stmt string, sigc chan os.Signal) error {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	var canceled atomic.Bool
	if sigc != nil {
		go func() {
			select {
			case <-sigc:
				canceled.Store(true)
				cancel()
			case <-done:
			}
		}()
	}
	start := time.Now()
	var sp *spinner
	if s.opts.Interactive {
		sp = startSpinner(s.opts.Err, start)
		qctx = engine.WithProgress(qctx, sp.set)
	}
	rr, err := s.b.Query(qctx, stmt)
	if sp != nil {
		sp.stop()
	}
	if err != nil {
		if canceled.Load() {
			return engine.ErrCanceled
		}
		return err
	}
	defer rr.Release()
	opts := render.Options{Format: s.mode, MaxRows: s.opts.MaxRows}
	if s.outFile == nil && s.opts.Interactive {
		if s.opts.Width != nil {
			opts.Width = s.opts.Width()
		}
		opts.Color = true
	}
	if s.outFile != nil {
		opts.MaxRows = 0
	}
	_, err = render.Write(qctx, s.out, rr, opts)
	if err != nil && canceled.Load() {
		return engine.ErrCanceled
	}
	if err == nil && s.timer {
		fmt.Fprintf(s.opts.Err, "Run Time: %.3f s\n", time.Since(start).Seconds())
	}
	return err
}

// spinner shows a progress line on a terminal once a query has run for a
// second, and clears it when the result arrives.
type spinner struct {
	w     io.Writer
	pct   atomic.Int64 // percent * 10, -10 unknown
	quit  chan struct{}
	wg    sync.WaitGroup
	shown bool
}

func startSpinner(w io.Writer, start time.Time) *spinner {
	sp := &spinner{w: w, quit: make(chan struct{})}
	sp.pct.Store(-10)
	sp.wg.Add(1)
	go func() {
		defer sp.wg.Done()
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-sp.quit:
				if sp.shown {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-t.C:
				if time.Since(start) < time.Second {
					continue
				}
				sp.shown = true
				p := sp.pct.Load()
				pct := ""
				if p >= 0 {
					pct = fmt.Sprintf(" %3d%%", p/10)
				}
				fmt.Fprintf(w, "\r\033[K%c running%s  %.1f s  (Ctrl-C cancels)", frames[i%len(frames)], pct, time.Since(start).Seconds())
			}
		}
	}()
	return sp
}

func (sp *spinner) set(pct float64) { sp.pct.Store(int64(pct * 10)) }

func (sp *spinner) stop() {
	close(sp.quit)
	sp.wg.Wait()
}

const help = `Statements end with ';' and may span lines. Ctrl-C cancels a running query,
Ctrl-D quits, Tab completes keywords, tables and columns.

.tables               list tables
.schema [TABLE]       show tables' columns and types
.describe TABLE       DuckDB's DESCRIBE of a table
.mode MODE            table, csv, json, ndjson, line or markdown
.timer on|off         print each statement's run time
.output [FILE]        send results to FILE (no FILE: back to the terminal)
.read FILE            run the statements in FILE
.refresh              re-read the catalog (new, changed, removed files)
.help                 this text
.quit                 leave (also .exit)`

// usage is a meta-command used wrongly.
func usage(format string, args ...any) error { return fault.Errorf(fault.Usage, format, args...) }

// meta runs a meta-command.
func (s *shell) meta(ctx context.Context, cmd string, sigc chan os.Signal) error {
	f := strings.Fields(cmd)
	arg := func(i int) string {
		if i < len(f) {
			return f[i]
		}
		return ""
	}
	switch f[0] {
	case ".quit", ".exit":
		return errQuit
	case ".help":
		fmt.Fprintln(s.opts.Out, help)
	case ".tables":
		var names []string
		for _, t := range s.tableList(ctx) {
			names = append(names, t.Name)
		}
		sort.Strings(names)
		fmt.Fprintln(s.out, strings.Join(names, "  "))
	case ".schema":
		found := false
		for _, t := range s.tableList(ctx) {
			if arg(1) != "" && !strings.EqualFold(t.Name, arg(1)) {
				continue
			}
			found = true
			cols := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				cols[i] = engine.QuoteIdent(c.Name) + " " + c.Type
			}
			fmt.Fprintf(s.out, "%s (%s);\n", engine.QuoteIdent(t.Name), strings.Join(cols, ", "))
		}
		if !found && arg(1) != "" {
			return fault.Errorf(fault.NotFound, "no table %q", arg(1))
		}
	case ".describe":
		if arg(1) == "" {
			return usage(".describe needs a table")
		}
		return s.run(ctx, "DESCRIBE "+engine.QuoteIdent(arg(1)), sigc)
	case ".mode":
		switch arg(1) {
		case "table", "csv", "json", "ndjson", "line", "markdown":
			s.mode = arg(1)
		case "":
			fmt.Fprintln(s.opts.Out, s.mode)
		default:
			return usage(".mode %q: table, csv, json, ndjson, line or markdown", arg(1))
		}
	case ".timer":
		switch arg(1) {
		case "on":
			s.timer = true
		case "off":
			s.timer = false
		default:
			return usage(".timer on|off")
		}
	case ".output":
		s.closeOutput()
		if arg(1) != "" {
			file, err := os.Create(arg(1))
			if err != nil {
				return err
			}
			s.outFile, s.out = file, file
		}
	case ".read":
		if arg(1) == "" {
			return usage(".read needs a file")
		}
		file, err := os.Open(arg(1))
		if err != nil {
			return err
		}
		defer file.Close()
		return s.batch(ctx, file, arg(1))
	case ".refresh":
		s.tables = nil
		return s.b.Refresh(ctx)
	default:
		return usage("unknown command %s (.help lists them)", f[0])
	}
	return nil
}
