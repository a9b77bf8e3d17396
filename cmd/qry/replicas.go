//go:build duckdb_arrow

package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/qry-dev/qry/server/auth"
	"github.com/qry-dev/qry/server/flightsql"
)

// What qry serve needs to run as one of several identical replicas: the
// ticket secret they share, the locations a FlightInfo lists, and the
// reload of tokens and secrets without a restart.

// minSecret is the shortest ticket secret accepted.
const minSecret = 32

// parseSecrets reads ticket secrets: one per line (or comma), the first
// signing, each checking (see flightsql.Secrets).
func parseSecrets(text, source string) ([][]byte, error) {
	var keys [][]byte
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) < minSecret {
			return nil, usage("%s: a ticket secret has at least %d characters (openssl rand -hex 32 makes one)", source, minSecret)
		}
		keys = append(keys, []byte(line))
	}
	if len(keys) == 0 {
		return nil, usage("%s: no ticket secret", source)
	}
	return keys, nil
}

// reloader keeps the tokens file and the ticket-secret file in force: it
// reads them again on SIGHUP and when their content changes (a mounted
// Kubernetes Secret is updated in place). A file that no longer reads
// keeps the old values, with a warning.
type reloader struct {
	tokensFile, secretFile string
	tokens                 *auth.Live
	secrets                *flightsql.Secrets
	log                    *slog.Logger
	seen                   map[string][]byte
}

// reloadEvery is how often the files are compared with what was loaded.
const reloadEvery = 5 * time.Second

// load reads the files now: an error names the file.
func (r *reloader) load() error {
	if r.seen == nil {
		r.seen = map[string][]byte{}
	}
	if r.tokensFile != "" {
		data, err := os.ReadFile(r.tokensFile)
		if err != nil {
			return fmt.Errorf("%w: %w", auth.ErrTokens, err)
		}
		if !bytes.Equal(data, r.seen[r.tokensFile]) {
			t, err := auth.ParseTokens(string(data))
			if err != nil {
				return fmt.Errorf("%s: %w", r.tokensFile, err)
			}
			r.tokens.Set(t)
			r.seen[r.tokensFile] = data
			r.log.Info("tokens loaded", "file", r.tokensFile, "tokens", len(t))
		}
	}
	if r.secretFile != "" {
		data, err := os.ReadFile(r.secretFile)
		if err != nil {
			return fmt.Errorf("ticket secret: %w", err)
		}
		if !bytes.Equal(data, r.seen[r.secretFile]) {
			keys, err := parseSecrets(string(data), r.secretFile)
			if err != nil {
				return err
			}
			r.secrets.Set(keys...)
			r.seen[r.secretFile] = data
			r.log.Info("ticket secrets loaded", "file", r.secretFile, "secrets", len(keys))
		}
	}
	return nil
}

// run reloads on SIGHUP and on change until ctx ends.
func (r *reloader) run(ctx context.Context) {
	if r.tokensFile == "" && r.secretFile == "" {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(reloadEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reload("SIGHUP")
		case <-tick.C:
			r.reload("")
		}
	}
}

func (r *reloader) reload(why string) {
	if err := r.load(); err != nil {
		r.log.Warn("reload failed: the values loaded before stay in force", "err", oneLine(err))
		return
	}
	if why != "" {
		r.log.Info("reloaded", "on", why)
	}
}

// locations lists the replicas for a FlightInfo's endpoints: the
// --advertise URIs, and the addresses a DNS name resolves to (a Kubernetes
// headless Service lists its ready pods), looked up at most every few
// seconds. nil when neither is set.
func locations(advertise []string, service, scheme string, log *slog.Logger) func() []string {
	if len(advertise) == 0 && service == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(service)
	if service != "" && err != nil {
		log.Warn("--advertise-service is not HOST:PORT; ignored", "value", service)
		service = ""
	}
	var mu sync.Mutex
	var cached []string
	var at time.Time
	return func() []string {
		if service == "" {
			return advertise
		}
		mu.Lock()
		defer mu.Unlock()
		if cached != nil && time.Since(at) < reloadEvery {
			return cached
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			log.Warn("--advertise-service lookup failed", "name", host, "err", err)
			if cached != nil {
				return cached
			}
			return advertise
		}
		out := append([]string(nil), advertise...)
		for _, a := range addrs {
			out = append(out, scheme+"://"+net.JoinHostPort(a, port))
		}
		cached, at = out, time.Now()
		return out
	}
}
