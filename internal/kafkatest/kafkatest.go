// Package kafkatest runs a real Apache Kafka broker (KRaft mode, one node
// that is broker and controller) for tests, from the jars scripts/kafka.sh
// puts in .cache/kafka/libs, on the machine's Java. Tests that need it are
// skipped with a line saying so where Java or the jars are missing, unless
// QRY_REQUIRE_KAFKA=1 (set by the test script), where that fails them.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Broker is a running Kafka broker.
type Broker struct {
	dir     string
	libs    string
	Addr    string // host:port of its PLAINTEXT listener
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
}

// Start formats a new broker's storage in a temporary directory and starts
// it; it is killed when the test ends.
func Start(t testing.TB) *Broker {
	t.Helper()
	b, err := Launch(Libs(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	return b
}

// Launch formats a new broker's storage in dir and starts it from the jars
// in libs, once it answers. Stop it when done.
func Launch(libs, dir string) (*Broker, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b := &Broker{dir: dir, libs: libs, Addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), logPath: filepath.Join(dir, "broker.log")}
	props := strings.Join([]string{
		"process.roles=broker,controller",
		"node.id=1",
		fmt.Sprintf("controller.quorum.bootstrap.servers=127.0.0.1:%d", ports[1]),
		fmt.Sprintf("listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", ports[0], ports[1]),
		"advertised.listeners=PLAINTEXT://" + b.Addr,
		"controller.listener.names=CONTROLLER",
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"log.dirs=" + filepath.Join(dir, "data"),
		"offsets.topic.replication.factor=1",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"group.initial.rebalance.delay.ms=0",
		"num.partitions=1",
		"auto.create.topics.enable=false",
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "server.properties"), []byte(props), 0o644); err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	// "=": an identifier may start with "-".
	format := b.java("kafka.tools.StorageTool", "format", "--standalone", "--cluster-id="+base64.RawURLEncoding.EncodeToString(id), "-c", filepath.Join(dir, "server.properties"))
	if out, err := format.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("kafka storage format: %w\n%s", err, out)
	}
	if err := b.Restart(); err != nil {
		return nil, err
	}
	return b, nil
}

// Libs is the directory of the broker's jars; it skips (or fails, under
// QRY_REQUIRE_KAFKA=1) the test where they or Java are missing.
func Libs(t testing.TB) string {
	t.Helper()
	return need(t, "kafka broker", "scripts/kafka.sh", FindLibs)
}

// need is what find finds, once Java is there too; else it skips the test
// (or fails it, under QRY_REQUIRE_KAFKA=1), naming what is missing and the
// script that makes it.
func need(t testing.TB, what, script string, find func() (string, error)) string {
	t.Helper()
	var why string
	if _, err := exec.LookPath("java"); err != nil {
		why = "java is missing"
	} else if found, err := find(); err != nil {
		why = err.Error()
	} else {
		return found
	}
	if os.Getenv("QRY_REQUIRE_KAFKA") == "1" {
		t.Fatalf("%s: %s (QRY_REQUIRE_KAFKA=1)", what, why)
	}
	t.Skipf("%s: %s: run %s (needs Java 17 and Maven)", what, why, script)
	return ""
}

// FindLibs is .cache/kafka/libs of the module the working directory is in,
// if it holds the jars.
func FindLibs() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	libs := filepath.Join(root, ".cache", "kafka", "libs")
	if ents, err := os.ReadDir(libs); err != nil || len(ents) == 0 {
		return "", fmt.Errorf("no jars in %s", libs)
	}
	return libs, nil
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

func (b *Broker) java(class string, args ...string) *exec.Cmd {
	return exec.Command("java", append([]string{"-Xmx512m", "-XX:+UseSerialGC", "-cp", filepath.Join(b.libs, "*"), class}, args...)...)
}

// Restart starts the broker (again, after Stop) on the same ports and data,
// and waits until it answers.
func (b *Broker) Restart() error {
	logf, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	b.cmd = b.java("kafka.Kafka", filepath.Join(b.dir, "server.properties"))
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	if err := b.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("kafka broker: %w", err)
	}
	b.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}(b.cmd, b.exited)
	return b.waitReady()
}

// waitReady waits (up to 90 s) until the broker lists its own node.
func (b *Broker) waitReady() error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		brokers, err := adm.ListBrokers(ctx)
		cancel()
		if err == nil && len(brokers) > 0 {
			return nil
		}
		select {
		case <-b.exited:
			log, _ := os.ReadFile(b.logPath)
			return fmt.Errorf("kafka broker exited while starting:\n%s", tail(log))
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(b.logPath)
			return fmt.Errorf("kafka broker not ready after 90 s (%w):\n%s", err, tail(log))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop kills the broker (as a crash would) and waits for it to exit.
func (b *Broker) Stop() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd = nil
}

// CreateTopic makes a topic with the given partitions.
func (b *Broker) CreateTopic(t testing.TB, topic string, partitions int32) {
	t.Helper()
	adm := b.Admin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// Admin is an admin client of the broker, closed when the test ends.
func (b *Broker) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(b.Client(t))
}

// Client is a client of the broker (a producer, with opts), closed when
// the test ends.
func (b *Broker) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// freePorts are n TCP ports free on 127.0.0.1 now.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports, nil
}
