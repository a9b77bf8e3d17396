package main_test

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
	"github.com/qry-dev/qry/internal/hostile"
)

// TestShellSecretsNeverLeak runs a sample of every class of hostile cases
// (internal/hostile) through the real binary: qry shell --server on a qry
// serve (sandboxed, as by default) over a data root with secret files
// beside table t, one statement per shell. A case the gate must refuse is
// refused; the shell splits scripts itself, so other cases need only not
// leak. No output, error or server log line may show the secret's marker;
// then the server still answers t right.
func TestShellSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary many times")
	}
	p := hostile.New(t)
	// The server runs in t's directory: relative paths start from there.
	cwd := filepath.Join(p.Root, "t")
	var logs hostile.Log
	addr, stop := servePlant(t, p, cwd, &logs)
	cases := hostile.Sample(p.Cases(cwd), 8)
	for _, c := range cases {
		t.Run(c.Class+"/"+c.Name, func(t *testing.T) {
			r := shell(t, addr, c.SQL+"\n;\n")
			if p.Leak(r.stdout) || p.Leak(r.stderr) {
				t.Errorf("the secret leaked for %q:\nstdout: %s\nstderr: %s", c.SQL, r.stdout, r.stderr)
			}
			// A refusal exits with ExitForbidden, as the server's status
			// keeps its kind through the client.
			a := hostile.Answer{OK: r.code == 0, Forbidden: r.code == fault.ExitForbidden && strings.Contains(r.stderr, "not allowed"),
				Invalid: r.code == 1, Kind: printedKind(r.stderr), Msg: r.stderr}
			if c.Want != hostile.Refused {
				c.Want = hostile.Any // the shell runs each statement of a script on its own
			}
			if err := c.Check(a); err != nil {
				t.Errorf("%v\nSQL: %q", err, c.SQL)
			}
		})
	}

	// The server still serves, and right: t as DuckDB reads its file.
	db := fixture.DB(t)
	var want strings.Builder
	want.WriteString("id,v\n")
	for _, row := range fixture.Rows(t, db, "SELECT id, v FROM read_csv('"+p.TableCSV+"') ORDER BY id") {
		want.WriteString(strings.Join(row, ",") + "\n")
	}
	r := shell(t, addr, ".mode csv\nSELECT id, v FROM t ORDER BY id;\n")
	require.Zero(t, r.code, r.stderr)
	require.Equal(t, want.String(), r.stdout)
	r = shell(t, addr, "SELECT * FROM w;\n")
	require.Zero(t, r.code, r.stderr)
	require.False(t, p.Leak(r.stdout), r.stdout)
	p.CheckUnchanged(t)
	stop()
	require.False(t, p.Leak(logs.String()), "a server log line shows the secret:\n%s", logs.String())
}

// printedKind reads back the kind of the error a shell printed from its
// words: a syntax error says so, and a statement error is one of the
// statement sentinels.
func printedKind(stderr string) fault.Kind {
	switch {
	case strings.Contains(strings.ToLower(stderr), "syntax error"):
		return fault.Syntax
	case strings.Contains(stderr, engine.ErrMultipleStatements.Msg), strings.Contains(stderr, engine.ErrEmpty.Msg):
		return fault.Statement
	}
	return fault.Internal
}

// shell runs qry shell --server on a script.
func shell(t *testing.T, addr, script string) result {
	t.Helper()
	return run(t, script, "shell", "--server", "grpc://"+addr, "--history", "")
}

// servePlant runs qry serve on a plant's qry.yaml in dir, its log going to
// logs; stop ends it (SIGTERM) and waits for its last log line.
func servePlant(t *testing.T, p *hostile.Plant, dir string, logs *hostile.Log) (string, func()) {
	t.Helper()
	cmd := exec.Command(qryBin, "serve", "--config", p.Config, "--cache-dir", t.TempDir(), "--listen", "127.0.0.1:0")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	var addr string
	for sc.Scan() {
		fmt.Fprintln(logs, sc.Text())
		if _, after, ok := strings.Cut(sc.Text(), "on grpc://"); ok {
			addr, _, _ = strings.Cut(after, " ")
			break
		}
	}
	require.NotEmpty(t, addr, "qry serve announced its address:\n%s", logs.String())
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		_, _ = io.Copy(logs, stderr)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			<-drained
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				require.NoError(t, err, "qry serve exits cleanly:\n%s", logs.String())
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("qry serve did not stop after SIGTERM")
			}
		})
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return addr, stop
}
