package kafkatest

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Registry is a running schema registry: Apicurio Registry, which
// scripts/registry.sh builds into .cache/registry, serving Confluent's
// API at URL. Its schemas live in memory.
type Registry struct {
	URL    string // the Confluent-compatible API, for clients and qry
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartRegistry starts a registry on a free port and waits until it
// answers; it is killed when the test ends. It skips the test (or fails
// it, under QRY_REQUIRE_KAFKA=1) where Java or the build is missing.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	jar := need(t, "schema registry", "scripts/registry.sh", FindRegistry)
	r, err := LaunchRegistry(jar, filepath.Join(t.TempDir(), "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// FindRegistry is the registry's jar in .cache/registry of the module the
// working directory is in.
func FindRegistry() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	jar := filepath.Join(root, ".cache", "registry", "registry.jar")
	if _, err := os.Stat(jar); err != nil {
		return "", fmt.Errorf("%s is missing", jar)
	}
	return jar, nil
}

// LaunchRegistry starts the registry in jar on a free port, logging to
// logPath, once it answers. Stop it when done.
func LaunchRegistry(jar, logPath string) (*Registry, error) {
	// A port found free may be taken before the registry binds it: then
	// it starts again on another.
	for attempt := 1; ; attempt++ {
		r, err := launchRegistry(jar, logPath)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "already in use") {
			return r, err
		}
	}
}

func launchRegistry(jar, logPath string) (*Registry, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command("java", "-Xmx384m", "-XX:+UseSerialGC",
		"-Dquarkus.http.host=127.0.0.1", fmt.Sprintf("-Dquarkus.http.port=%d", ports[0]), "-jar", jar)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &Registry{URL: fmt.Sprintf("http://127.0.0.1:%d/apis/ccompat/v6", ports[0]), cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.exited) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(r.URL + "/subjects")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		select {
		case <-r.exited:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("schema registry exited before answering:\n%s", tail(out))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.Stop()
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("schema registry did not answer within 90 s:\n%s", tail(out))
		}
	}
}

// Stop kills the registry and waits for it to exit.
func (r *Registry) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	r.cmd = nil
}
