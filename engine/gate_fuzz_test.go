package engine_test

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/hostile"
)

// FuzzGate mutates hostile statements (internal/hostile's cases, which
// name the planted secret files) and runs each through a sandboxed engine:
// no result, schema or error may show the secret's marker, and DuckDB must
// never have to refuse to open a file (that is the gate letting a file
// access through, caught by the second line only).
//
// Where the system has a second file system (/dev/shm), the sandbox
// directory is put there: DuckDB may then open the whole data root (the
// coarse mode, for roots on another file system than the cache), so the
// gate stands alone and a hole in it leaks the marker for real.
//
// Inputs name the plant's directory as {dir}, so a corpus entry found in
// one run means the same in the next.
func FuzzGate(f *testing.F) {
	p := hostile.New(f)
	cache := f.TempDir()
	sandbox := cache
	if d, ok := otherFileSystem(f, cache); ok {
		sandbox = d
		f.Logf("sandbox directory on another file system (%s): the gate stands alone", d)
	}
	cat, err := catalog.Open(context.Background(), p.CatalogOptions(f, cache))
	if err != nil {
		f.Fatal(err)
	}
	eng, err := engine.Open(context.Background(), cat, engine.Options{Sandbox: true, SandboxDir: sandbox, MaxConns: 2,
		Threads: 2, MemoryLimit: "256MB", MaxTempSize: "64MB", MaxResultRows: 10000, MaxResultBytes: 16 << 20})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		eng.Close()
		cat.Close()
	})
	cwd, err := os.Getwd()
	if err != nil {
		f.Fatal(err)
	}
	// A sample of each class: in fuzzing mode every seed is first run
	// for its coverage, which the whole set would spend the run on.
	for _, c := range hostile.Sample(p.Cases(cwd), 12) {
		f.Add(strings.ReplaceAll(c.SQL, p.Dir, "{dir}"))
	}
	var written atomic.Bool
	f.Fuzz(func(t *testing.T, input string) {
		q := strings.ReplaceAll(input, "{dir}", p.Dir)
		if p.Mentions(q) {
			return // the marker itself, echoed in an error, is no leak
		}
		if leak := runHostile(t, eng, p, q); leak != "" {
			t.Fatalf("%s\nSQL: %q", leak, q)
		}
		// An INSERT that ran may have written a secret into w (once it
		// has, every later INSERT would be blamed too).
		if engine.IsInsert(q) && !written.Load() {
			if leak := runHostile(t, eng, p, "SELECT * FROM w"); leak != "" {
				written.Store(true)
				t.Fatalf("after an INSERT, w: %s\nSQL: %q", leak, q)
			}
		}
	})
}

// runHostile runs a statement to its end (or a short timeout) and says
// how it leaked, if it did.
func runHostile(t *testing.T, eng *engine.Engine, p *hostile.Plant, q string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := eng.Query(ctx, q)
	if err == nil {
		defer rows.Release()
		if s := p.LeakSchema(rows.Schema()); s != "" {
			return "the secret in a result's schema: " + s
		}
		for rows.Next() {
			if s := p.LeakBatch(rows.RecordBatch()); s != "" {
				return "the secret in a result: " + s
			}
		}
		err = rows.Err()
	}
	if err == nil {
		return ""
	}
	if p.Leak(err.Error()) {
		return "the secret in an error: " + err.Error()
	}
	if err := (hostile.Case{Want: hostile.Any}).Check(hostile.Answer{Msg: err.Error()}); err != nil {
		return err.Error()
	}
	return ""
}

// otherFileSystem makes a directory on /dev/shm if that is another file
// system than dir's.
func otherFileSystem(f *testing.F, dir string) (string, bool) {
	var a, b syscall.Stat_t
	if syscall.Stat(dir, &a) != nil || syscall.Stat("/dev/shm", &b) != nil || a.Dev == b.Dev {
		return "", false
	}
	d, err := os.MkdirTemp("/dev/shm", "qry-fuzzgate-")
	if err != nil {
		return "", false
	}
	f.Cleanup(func() { os.RemoveAll(d) })
	return d, true
}
