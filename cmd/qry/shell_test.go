package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/internal/fixture"
)

// term drives the real binary through a pseudo-terminal.
type term struct {
	t    *testing.T
	f    *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	mark int
}

func startTerm(t *testing.T, args ...string) *term {
	t.Helper()
	cmd := exec.Command(qryBin, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	require.NoError(t, err)
	tm := &term{t: t, f: f, cmd: cmd}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		f.Close()
	})
	return tm
}

func (tm *term) send(s string) {
	tm.t.Helper()
	_, err := tm.f.Write([]byte(s))
	require.NoError(tm.t, err)
}

// expect waits for s in the output since the last expect, and moves past it.
func (tm *term) expect(s string, timeout time.Duration) {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		tm.mu.Lock()
		out := tm.out.String()[tm.mark:]
		if i := strings.Index(out, s); i >= 0 {
			tm.mark += i + len(s)
			tm.mu.Unlock()
			return
		}
		tm.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.t.Fatalf("waited %v for %q; output since last match:\n%s", timeout, s, tm.out.String()[tm.mark:])
}

// atPrompt waits for the next prompt: what is typed before it may be lost
// (liner takes the terminal when it prompts), which a loaded machine shows.
func (tm *term) atPrompt() {
	tm.t.Helper()
	tm.expect("qry> ", 30*time.Second)
}

// expectCaret waits for the statement's line and, under it, the caret at
// column col.
func (tm *term) expectCaret(line string, col int) {
	tm.t.Helper()
	tm.expect("\n  "+line+"\r\n"+strings.Repeat(" ", 2+col-1)+"^", 5*time.Second)
}

func (tm *term) wait(t *testing.T) error {
	done := make(chan error, 1)
	go func() { done <- tm.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("shell did not exit")
		return nil
	}
}

func shellArgs(t *testing.T, history string) []string {
	return []string{"shell", "--cache-dir", t.TempDir(), "--data", sampleDir(t), "--history", history}
}

func TestShellQueryCompletionModeAndErrors(t *testing.T) {
	db := fixture.DB(t)
	days := fixture.Rows(t, db, "SELECT count(*) FROM read_csv('"+filepath.Join(sampleDir(t), "weather.csv")+"')")[0][0]
	tm := startTerm(t, shellArgs(t, filepath.Join(t.TempDir(), "h"))...)
	tm.expect("qry> ", 30*time.Second)

	tm.send("SELECT 40 + 2\r")
	tm.expect("-> ", 5*time.Second) // continuation: no ';' yet
	tm.send("AS answer;\r")
	tm.expect("answer", 10*time.Second)
	tm.expect("42", 5*time.Second)
	tm.expect("qry> ", 5*time.Second)

	// Tab completes a table name.
	tm.send("SELECT count(*) AS n FROM weat\t")
	tm.expect("FROM weather", 5*time.Second)
	tm.send(";\r")
	tm.expect(days, 10*time.Second)
	// An ambiguous prefix completes as far as the candidates agree.
	tm.atPrompt()
	tm.send("SELECT tri\t")
	tm.expect("SELECT trip", 5*time.Second)
	tm.send("\x03") // Ctrl-C at the prompt drops the line

	tm.atPrompt()
	tm.send(".mode csv\r")
	tm.atPrompt()
	tm.send("SELECT 'a,b' AS x, NULL AS y;\r")
	tm.expect("x,y", 10*time.Second)
	tm.expect(`"a,b",`, 5*time.Second)

	// A syntax error: one line with the position (its label left out, as
	// DuckDB's message names the class), the caret under the column, then
	// the shell goes on.
	tm.atPrompt()
	tm.send(".mode table\r")
	tm.atPrompt()
	tm.send("SELECT * FORM trips;\r")
	tm.expect("\n"+`syntax error at or near "trips" (line 1, column 15)`, 10*time.Second)
	tm.expectCaret("SELECT * FORM trips", 15)
	tm.atPrompt()
	tm.send("SELECT 'still here' AS s;\r")
	tm.expect("still here", 10*time.Second)

	tm.atPrompt()
	tm.send(".tables\r")
	tm.expect("trips  weather  zones", 5*time.Second)
	tm.atPrompt()
	tm.send("\x04") // Ctrl-D
	require.NoError(t, tm.wait(t))
}

func TestShellCtrlCCancelsQuery(t *testing.T) {
	tm := startTerm(t, shellArgs(t, "")...)
	tm.expect("qry> ", 30*time.Second)
	tm.send("SELECT count(*) FROM range(1000000000000) r(i) WHERE i % 7 = 3;\r")
	tm.expect("running", 10*time.Second) // the progress line after a second
	tm.send("\x03")                      // the query would run for hours: the bound says it was canceled
	tm.expect("query canceled", 10*time.Second)
	tm.atPrompt()
	tm.send("SELECT 6 * 7 AS back;\r")
	tm.expect("42", 10*time.Second)
	tm.atPrompt()
	tm.send(".quit\r")
	require.NoError(t, tm.wait(t))
}

func TestShellHistoryKeptAcrossRestarts(t *testing.T) {
	history := filepath.Join(t.TempDir(), "history")
	tm := startTerm(t, shellArgs(t, history)...)
	tm.expect("qry> ", 30*time.Second)
	tm.send("SELECT 123454 + 1 AS h;\r")
	tm.expect("123455", 10*time.Second)
	tm.atPrompt()
	tm.send("\x04")
	require.NoError(t, tm.wait(t))
	data, err := os.ReadFile(history)
	require.NoError(t, err)
	require.Contains(t, string(data), "SELECT 123454 + 1 AS h;")

	tm2 := startTerm(t, shellArgs(t, history)...)
	tm2.expect("qry> ", 30*time.Second)
	tm2.send("\x1b[A") // Up: the last statement of the previous session
	tm2.expect("SELECT 123454 + 1 AS h;", 5*time.Second)
	tm2.send("\r")
	tm2.expect("123455", 10*time.Second)
	tm2.atPrompt()
	tm2.send("\x04")
	require.NoError(t, tm2.wait(t))
}

func TestShellOnServer(t *testing.T) {
	_, addr := startServe(t)
	db := fixture.DB(t)
	want := fixture.Rows(t, db, "SELECT round(max(temp_c), 1) FROM read_csv('"+filepath.Join(sampleDir(t), "weather.csv")+"')")[0][0]

	tm := startTerm(t, "shell", "--server", "grpc://"+addr, "--history", "")
	tm.expect("qry> ", 30*time.Second)
	tm.send("SELECT round(max(temp_c), 1) AS hottest FROM weather;\r")
	tm.expect("hottest", 10*time.Second)
	tm.expect(want, 5*time.Second)
	tm.atPrompt()
	tm.send("SELECT * FROM wether;\r")
	tm.expect(`Catalog error: Table with name wether does not exist! Did you mean "weather"?`, 10*time.Second)
	// The server's error keeps its kind and position: the caret too.
	tm.atPrompt()
	tm.send("SELECT temp_c, nope FROM weather;\r")
	tm.expect(`Binder error: Referenced column "nope" not found`, 10*time.Second)
	tm.expect("(line 1, column 16)", 5*time.Second)
	tm.expectCaret("SELECT temp_c, nope FROM weather", 16)
	tm.atPrompt()
	tm.send("\x04")
	require.NoError(t, tm.wait(t))
}

func TestShellScriptStopsAtFirstError(t *testing.T) {
	r := run(t, "SELECT 1 AS one;\n.mode csv\nSELECT 2 AS two;\nSELECT nope;\nSELECT 3 AS three;\n", "shell", "-d", sampleDir(t), "--history", "")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stdout, "one")
	require.Contains(t, r.stdout, "two\n2\n")
	require.NotContains(t, r.stdout, "three")
	require.Contains(t, r.stderr, "stdin line 4")
	require.Contains(t, r.stderr, `"nope"`)
}
