package auth

import (
	"bufio"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/qry-dev/qry/fault"
)

// Tokens maps bearer tokens to their holders.
type Tokens map[string]Holder

// Holder is who a token belongs to, and until when it is good (zero: no
// end).
type Holder struct {
	Name    string
	Expires time.Time
}

// ErrTokens is wrapped by errors reading tokens.
var ErrTokens = fault.New(fault.Invalid, "tokens")

// ParseTokens reads "name:token" or "name:token:YYYY-MM-DD" (good until the
// end of that day, UTC) entries separated by newlines or commas; blank lines
// and lines starting with # are skipped.
func ParseTokens(text string) (Tokens, error) {
	t := Tokens{}
	sc := bufio.NewScanner(strings.NewReader(strings.ReplaceAll(text, ",", "\n")))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, fmt.Errorf("%w: entry %d: want name:token or name:token:YYYY-MM-DD", ErrTokens, n)
		}
		name, tok := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		if name == "" || len(tok) < 16 {
			// The token itself is never echoed.
			return nil, fmt.Errorf("%w: entry %d: want name:token with a token of 16 characters or more", ErrTokens, n)
		}
		h := Holder{Name: name}
		if len(parts) == 3 {
			day, err := time.Parse(time.DateOnly, strings.TrimSpace(parts[2]))
			if err != nil {
				return nil, fmt.Errorf("%w: entry %d: expiry %q is not YYYY-MM-DD", ErrTokens, n, strings.TrimSpace(parts[2]))
			}
			h.Expires = day.AddDate(0, 0, 1)
		}
		t[tok] = h
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("%w: no token", ErrTokens)
	}
	return t, nil
}

// LoadTokens reads a tokens file (see ParseTokens).
func LoadTokens(path string) (Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokens, err)
	}
	t, err := ParseTokens(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// lookup finds a token that has not expired, in constant time per entry.
func (t Tokens) lookup(token string) (string, bool) {
	name, found := "", false
	now := time.Now()
	for tok, h := range t {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(token)) == 1 && (h.Expires.IsZero() || now.Before(h.Expires)) {
			name, found = h.Name, true
		}
	}
	return name, found
}

// Lookup returns the name of a token's holder, if the token is known and
// has not expired. Each entry is compared in constant time.
func (t Tokens) Lookup(token string) (string, bool) { return t.lookup(token) }

// Check reports whether name holds token (basic auth: name and token).
func (t Tokens) Check(name, token string) bool {
	holder, ok := t.lookup(token)
	return ok && subtle.ConstantTimeCompare([]byte(holder), []byte(name)) == 1
}

// TLSConfig builds a server TLS configuration from a certificate and key,
// and, with a client CA, requires client certificates (mTLS).
func TLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls client CA %s: no certificate", clientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Checker checks credentials: Tokens, or Live tokens that a reload
// replaces.
type Checker interface {
	// Lookup returns the name of a token's holder (see Tokens.Lookup).
	Lookup(token string) (string, bool)
	// Check reports whether name holds token (see Tokens.Check).
	Check(name, token string) bool
}

// Live holds tokens that can be replaced while calls check them: a
// reload (SIGHUP, or a mounted Kubernetes Secret that changed) takes
// effect at the next call, without a restart.
type Live struct{ p atomic.Pointer[Tokens] }

// NewLive holds t.
func NewLive(t Tokens) *Live {
	l := &Live{}
	l.Set(t)
	return l
}

// Set replaces the tokens.
func (l *Live) Set(t Tokens) { l.p.Store(&t) }

// Len is the number of tokens held.
func (l *Live) Len() int { return len(*l.p.Load()) }

// Lookup implements Checker.
func (l *Live) Lookup(token string) (string, bool) { return l.p.Load().Lookup(token) }

// Check implements Checker.
func (l *Live) Check(name, token string) bool { return l.p.Load().Check(name, token) }
