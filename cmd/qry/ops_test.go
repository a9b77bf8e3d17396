package main_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/fixture"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	fixture.Write(t, filepath.Join(dir, "tokens"), "alice:"+strings.Repeat("a", 20)+"\n")
	good := fixture.Write(t, filepath.Join(dir, "qry.yaml"), fmt.Sprintf(`tables:
  - name: trips
    path: %s
server:
  listen: 0.0.0.0:31337
  http: 0.0.0.0:8080
  tokens: tokens
limits:
  query_timeout: 30s
  max_concurrent: 4
log:
  format: json
`, filepath.Join(sampleDir(t), "trips")))
	r := run(t, "", "config", "check", good)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	require.Equal(t, good+": ok (1 tables, 0 data directories, 6 settings)\n", r.stdout)

	bad := fixture.Write(t, filepath.Join(dir, "bad.yaml"), `tables:
  - name: gone
    path: nowhere
server:
  tokens: missing-tokens
  tls:
    cert: server.pem
limits:
  query_timeout: 10x
  max_concurrent: many
log:
  level: loud
`)
	r = run(t, "", "config", "check", bad)
	require.Equal(t, 1, r.code, r.stdout+r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		bad + ":9: limits.query_timeout: invalid argument \"10x\"",
		bad + ":10: limits.max_concurrent: invalid argument \"many\"",
		bad + ":12: log.level: \"loud\" is not one of the accepted values",
		bad + ": tables[0] (gone): path: stat " + filepath.Join(dir, "nowhere") + ": no such file or directory",
		bad + ":5: server.tokens: tokens: open " + filepath.Join(dir, "missing-tokens") + ": no such file or directory",
		bad + ":7: server.tls: cert and key go together",
	}
	require.Len(t, lines, len(want), r.stdout)
	for i, w := range want {
		require.True(t, strings.HasPrefix(lines[i], w), "line %d: %q does not start with %q", i, lines[i], w)
	}

	unknown := fixture.Write(t, filepath.Join(dir, "unknown.yaml"), "tables: []\nserver:\n  listen: x\n  lissen: y\n")
	r = run(t, "", "config", "check", unknown)
	require.Equal(t, 1, r.code)
	require.Equal(t, unknown+":4: unknown key \"lissen\"\n", r.stdout)

	// The same file given to a command stops it, naming the line.
	r = run(t, "", "query", "-c", unknown, "SELECT 1")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, unknown+":4: unknown key \"lissen\"")
}

// A flag beats its QRY_ variable, which beats qry.yaml, which beats the
// default.
func TestSettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	outside := fixture.Write(t, filepath.Join(t.TempDir(), "outside.csv"), "a,b\n1,2\n")
	cfg := fixture.Write(t, filepath.Join(dir, "qry.yaml"), "data: ["+sampleDir(t)+"]\nserver:\n  sandbox: true\n")
	q := "SELECT sum(a + b) AS s FROM read_csv('" + outside + "')"
	runEnv := func(env []string, args ...string) result {
		t.Helper()
		cmd := exec.Command(qryBin, append([]string{"--cache-dir", t.TempDir()}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
			return result{string(out), string(ee.Stderr), code}
		}
		require.NoError(t, err)
		return result{string(out), "", code}
	}
	// Default: the local query command is not sandboxed.
	r := runEnv(nil, "query", "-d", sampleDir(t), "-F", "csv", q)
	require.Equal(t, "s\n3\n", r.stdout, r.stderr)
	// The file sandboxes it.
	r = runEnv(nil, "query", "-c", cfg, "-F", "csv", q)
	require.Equal(t, fault.ExitForbidden, r.code)
	require.Contains(t, r.stderr, "read_csv")
	// The environment beats the file, and names the file too.
	r = runEnv([]string{"QRY_SANDBOX=false", "QRY_CONFIG=" + cfg}, "query", "-F", "csv", q)
	require.Equal(t, "s\n3\n", r.stdout, r.stderr)
	// A flag beats the environment.
	r = runEnv([]string{"QRY_SANDBOX=false"}, "query", "-c", cfg, "--sandbox=true", "-F", "csv", q)
	require.Equal(t, fault.ExitForbidden, r.code)
	// QRY_DATA lists directories.
	r = runEnv([]string{"QRY_DATA=" + sampleDir(t)}, "tables", "-F", "csv")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "trips")
	// A bad value in the environment names the variable.
	r = runEnv([]string{"QRY_MAX_CONCURRENT=lots"}, "query", "-d", sampleDir(t), "SELECT 1")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "QRY_MAX_CONCURRENT")
}

func TestVersion(t *testing.T) {
	db := fixture.DB(t)
	duck := fixture.Rows(t, db, "SELECT library_version FROM pragma_version()")[0][0]
	r := run(t, "", "version")
	require.Equal(t, 0, r.code)
	require.Regexp(t, `^qry dev(-[0-9a-f]{12}(-dirty)?)? \(DuckDB `+duck+`, go1\.\d+`, r.stdout)
}

// served is a running qry serve with its stderr lines.
type served struct {
	grpc, http string
	mu         sync.Mutex
	lines      []string
}

func (s *served) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func startServeHTTP(t *testing.T, args ...string) *served {
	t.Helper()
	cmd := exec.Command(qryBin, append([]string{"serve", "--cache-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	s := &served{}
	sc := bufio.NewScanner(stderr)
	for (s.grpc == "" || s.http == "") && sc.Scan() {
		line := sc.Text()
		if _, after, ok := strings.Cut(line, "http on "); ok {
			s.http = after
		}
		if _, after, ok := strings.Cut(line, "on grpc://"); ok {
			s.grpc, _, _ = strings.Cut(after, " ")
		}
	}
	require.NotEmpty(t, s.http)
	go func() {
		for sc.Scan() {
			s.mu.Lock()
			s.lines = append(s.lines, sc.Text())
			s.mu.Unlock()
		}
	}()
	return s
}

func TestServeHTTPWithCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	sample := sampleDir(t)
	s := startServeHTTP(t, "-d", sample, "--log-format", "json")
	db := fixture.DB(t)
	fixture.Exec(t, db, "CREATE VIEW trips AS SELECT * FROM read_parquet('"+filepath.Join(sample, "trips", "**", "*.parquet")+"', hive_partitioning=true)")
	q := "SELECT trip_id, pickup_at, payment, fare, year FROM trips WHERE month = 5 ORDER BY trip_id"
	want := fixture.Rows(t, db, q)
	require.NotEmpty(t, want)
	types := fixture.Rows(t, db, "SELECT column_name, column_type FROM (DESCRIBE "+q+")")
	var cols []string
	for _, r := range types {
		cols = append(cols, fmt.Sprintf("'%s': '%s'", r[0], r[1]))
	}
	for _, c := range []struct{ accept, reader string }{
		{"text/csv", "read_csv"},
		{"application/json", "read_json"},
		{"application/x-ndjson", "read_ndjson"},
	} {
		t.Run(c.accept, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "body")
			curl := exec.Command("curl", "-sS", "--fail", "-o", out, "-H", "Accept: "+c.accept, "--data-binary", q, s.http+"/v1/query")
			msg, err := curl.CombinedOutput()
			require.NoError(t, err, string(msg))
			got := fixture.Rows(t, db, fmt.Sprintf("SELECT * FROM %s('%s', columns={%s})", c.reader, out, strings.Join(cols, ", ")))
			require.Equal(t, want, got)
		})
	}
	t.Run("arrow", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "body.arrows")
		curl := exec.Command("curl", "-sS", "--fail", "-o", out, "-H", "Accept: application/vnd.apache.arrow.stream", "--data-binary", q, s.http+"/v1/query")
		msg, err := curl.CombinedOutput()
		require.NoError(t, err, string(msg))
		// DuckDB has no Arrow IPC reader built in: qry reads it back as a
		// local query would, through the Arrow reader in the test helper.
		f, err := os.Open(out)
		require.NoError(t, err)
		defer f.Close()
		require.Equal(t, want, readArrowStream(t, f))
	})
	t.Run("an error is a status and a message", func(t *testing.T) {
		curl := exec.Command("curl", "-sS", "-w", "%{http_code}", "--data-binary", "SELECT * FROM read_csv('/etc/passwd')", s.http+"/v1/query")
		out, err := curl.Output()
		require.NoError(t, err)
		require.True(t, strings.HasSuffix(string(out), "403"), string(out))
	})

	// The query log: one JSON line per query, the SQL hashed, not written.
	sum := sha256.Sum256([]byte(q))
	hash := hex.EncodeToString(sum[:8])
	deadline := time.Now().Add(5 * time.Second)
	var entries []map[string]any
	for time.Now().Before(deadline) {
		entries = entries[:0]
		for _, line := range s.log() {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "query" && m["sql_hash"] == hash {
				entries = append(entries, m)
			}
		}
		if len(entries) == 4 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Len(t, entries, 4, "one line per query: %v", s.log())
	// The first run fills the result cache; the same query then comes
	// from it (nothing changed in between).
	for i, m := range entries {
		require.Equal(t, i > 0, m["cached"] == true, "entry %d: %v", i, m)
		require.Equal(t, "ok", m["status"])
		require.Equal(t, "http", m["frontend"])
		require.Equal(t, float64(len(want)), m["rows"])
		require.NotContains(t, m, "sql")
		require.Equal(t, float64(24), m["files"])
		require.Equal(t, float64(22), m["files_pruned"], "month = 5: two of 24 month partitions")
	}

	// Readiness and metrics over the same listener.
	resp, err := http.Get(s.http + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func readArrowStream(t *testing.T, r io.Reader) [][]string {
	t.Helper()
	rd, err := ipc.NewReader(r)
	require.NoError(t, err)
	defer rd.Release()
	return fixture.ArrowRows(t, rd)
}
