package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/server/auth"
	"github.com/qry-dev/qry/server/limit"
)

// Options configure a Server. The zero value serves without authentication,
// with package limit's timeout and statement limit, and no /metrics.
type Options struct {
	// Tokens, when set, are required on /v1/ (bearer, or basic auth with
	// the holder's name and token). Probes and metrics stay open.
	Tokens auth.Checker
	// QueryTimeout bounds a query from its start to its last byte; 0 means
	// limit.DefaultQueryTimeout, negative means none.
	QueryTimeout time.Duration
	// MaxSQLBytes caps a request body; 0 means limit.DefaultSQLBytes.
	MaxSQLBytes int
	// Metrics, when set, is served on /metrics.
	Metrics *Metrics
	// Logger receives failed requests; nil discards them.
	Logger *slog.Logger
}

// Server is the HTTP API. It answers probes at once; queries and table
// listings wait for SetEngine (until then /readyz says 503).
type Server struct {
	opts     Options
	log      *slog.Logger
	eng      atomic.Pointer[engine.Engine]
	draining atomic.Bool
	mux      *http.ServeMux
}

var _ http.Handler = (*Server)(nil)

// New returns a Server; it is not ready until SetEngine.
func New(opts Options) *Server {
	if opts.QueryTimeout == 0 {
		opts.QueryTimeout = limit.DefaultQueryTimeout
	}
	if opts.MaxSQLBytes <= 0 {
		opts.MaxSQLBytes = limit.DefaultSQLBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", opts.Metrics.Handler())
	}
	s.mux.HandleFunc("POST /v1/query", s.authed(s.query))
	s.mux.HandleFunc("GET /v1/tables", s.authed(s.tables))
	s.mux.HandleFunc("GET /v1/tables/{name}", s.authed(s.table))
	s.mux.HandleFunc("POST /v1/tables/{name}/rows", s.authed(s.write))
	s.mux.HandleFunc("GET /v1/subscribe", s.authed(s.subscribe))
	return s
}

// SetEngine makes the server ready, serving queries on eng.
func (s *Server) SetEngine(eng *engine.Engine) { s.eng.Store(eng) }

// Drain makes /readyz fail, so load balancers stop sending traffic before
// shutdown; everything else keeps working.
func (s *Server) Drain() { s.draining.Store(true) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case s.draining.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("draining\n"))
	case s.eng.Load() == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("catalog loading\n"))
	default:
		_, _ = w.Write([]byte("ready\n"))
	}
}

// authed requires a token when the server has tokens, and an engine.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *engine.Engine, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		user := ""
		if s.opts.Tokens != nil {
			var ok bool
			if user, ok = s.user(r); !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="qry"`)
				s.fail(w, r, ErrUnauthorized)
				return
			}
		}
		eng := s.eng.Load()
		if eng == nil {
			w.Header().Set("Retry-After", "1")
			s.fail(w, r, ErrNotReady)
			return
		}
		h(w, r, eng, user)
	}
}

// user finds the holder of the request's token: "Authorization: Bearer
// TOKEN" or basic auth with the holder's name and token.
func (s *Server) user(r *http.Request) (string, bool) {
	if name, tok, ok := r.BasicAuth(); ok {
		return name, s.opts.Tokens.Check(name, tok)
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return s.opts.Tokens.Lookup(strings.TrimSpace(h[7:]))
	}
	return "", false
}

// fail answers with err's status and a JSON body.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := httpStatus(err)
	body := fault.BodyOf(err)
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	s.log.Debug("http request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// tableSummary is one entry of GET /v1/tables.
type tableSummary struct {
	Name     string `json:"name"`
	Format   string `json:"format"`
	Columns  int    `json:"columns"`
	Files    int    `json:"files"`
	Rows     int64  `json:"rows"`
	Bytes    int64  `json:"bytes"`
	Problems int    `json:"problems"`
}

type column struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Partition bool   `json:"partition,omitempty"`
}

type problem struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// tableDetail is GET /v1/tables/NAME. Paths are relative to the table's
// root: a client learns nothing of the server's filesystem.
type tableDetail struct {
	tableSummary
	Schema       []column  `json:"schema"`
	FileProblems []problem `json:"file_problems"`
}

func (s *Server) tables(w http.ResponseWriter, _ *http.Request, eng *engine.Engine, _ string) {
	out := struct {
		Tables []tableSummary `json:"tables"`
	}{Tables: []tableSummary{}}
	for _, t := range eng.Catalog().Snapshot().Tables {
		out.Tables = append(out.Tables, summarize(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) table(w http.ResponseWriter, r *http.Request, eng *engine.Engine, _ string) {
	t, ok := eng.Catalog().Snapshot().Table(r.PathValue("name"))
	if !ok {
		s.fail(w, r, ErrNoTable)
		return
	}
	d := tableDetail{tableSummary: summarize(t), Schema: []column{}, FileProblems: []problem{}}
	for _, c := range t.Columns {
		d.Schema = append(d.Schema, column{Name: c.Name, Type: c.Type, Partition: c.Partition})
	}
	for _, p := range t.Problems {
		rel, err := filepath.Rel(t.Root, p.Path)
		if err != nil {
			rel = filepath.Base(p.Path)
		}
		// The file is not served: its reason quotes nothing from it.
		d.FileProblems = append(d.FileProblems, problem{File: rel, Error: strings.ReplaceAll(p.Redacted(), filepath.Dir(p.Path)+string(filepath.Separator), "")})
	}
	writeJSON(w, http.StatusOK, d)
}

func summarize(t *catalog.Table) tableSummary {
	s := tableSummary{Name: t.Name, Format: t.Format, Columns: len(t.Columns), Files: len(t.Files), Rows: t.Rows(), Problems: len(t.Problems)}
	for _, f := range t.Files {
		s.Bytes += f.Size
	}
	return s
}
