// Package served is the sandbox's file system as DuckDB sees it: a
// directory of hard links to exactly the files the catalog serves, given to
// DuckDB as its only allowed directory. It knows nothing of SQL or DuckDB;
// the engine makes and refreshes it.
package served

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Files is the sandbox's file system as DuckDB sees it: a directory that
// holds one hard link per file the catalog serves (and per file DuckDB
// reads for one, such as a GeoJSON sidecar), at dir + the file's absolute
// path. A sandboxed DuckDB may open files under dir only (its
// allowed_directories), so whatever a statement names, DuckDB can open
// exactly the catalog's files: not hidden or underscore folders, not
// quarantined or ignored files, not a writable table's log or journal, not
// the cache. The links follow the catalog as it refreshes.
//
// Hard links, not symbolic ones: DuckDB resolves symbolic links before it
// checks a path, so a symbolic link into a data root would be refused (and
// one out of a root is refused too). A hard link needs the file on the
// same file system as dir: a root on another one is allowed whole instead
// (coarse: DuckDB may open any file under it), and Open logs a warning.
type Files struct {
	Dir    string
	Coarse []string // roots allowed whole, with a trailing slash
	// Remote are the roots on object storage (s3:// prefixes, or one
	// object's URL): DuckDB reads them by URL, within these prefixes only.
	Remote []string

	mu    sync.Mutex
	links map[string]os.FileInfo // real path -> the file linked
	used  map[string]bool        // real paths asked for since the last prune
}

const servedPrefix = "qry-sandbox-"

// Open makes a fresh served directory under parent, and removes
// those that processes no longer running left behind. roots are the
// catalog's data roots: those on another file system than parent are
// allowed whole.
func Open(parent string, roots []string) (*Files, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	removeStale(parent)
	dir, err := os.MkdirTemp(parent, servedPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Files{Dir: dir, links: map[string]os.FileInfo{}, used: map[string]bool{}}
	for _, r := range roots {
		if strings.HasPrefix(r, "s3://") {
			s.Remote = append(s.Remote, r)
			continue
		}
		abs, err := filepath.Abs(r)
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		if st, err := os.Stat(abs); err == nil && !st.IsDir() {
			abs = filepath.Dir(abs)
		}
		if !sameDevice(abs, dir) {
			s.Coarse = append(s.Coarse, strings.TrimSuffix(abs, "/")+"/")
		}
	}
	return s, nil
}

// sameDevice reports whether two paths are on one file system (so a hard
// link between them can be made). A path that does not exist yet is
// judged by its nearest existing parent.
func sameDevice(a, b string) bool {
	dev := func(p string) (uint64, bool) {
		for {
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err == nil {
				return uint64(st.Dev), true //nolint:unconvert // Dev's type differs by platform
			}
			parent := filepath.Dir(p)
			if parent == p {
				return 0, false
			}
			p = parent
		}
	}
	da, ok1 := dev(a)
	db, ok2 := dev(b)
	return ok1 && ok2 && da == db
}

// removeStale removes served directories whose process is gone.
func removeStale(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), servedPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		num, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(num)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			continue // still running
		}
		_ = os.RemoveAll(filepath.Join(parent, e.Name()))
	}
}

// Allowed is what DuckDB's allowed_directories must hold.
func (s *Files) Allowed() []string {
	return append(append([]string{s.Dir + "/"}, s.Coarse...), s.Remote...)
}

// Path is the path DuckDB reads real through. The link is made if it is
// missing, and made again if real is another file than the one linked
// (replaced by a rename).
func (s *Files) Path(real string) (string, error) {
	if strings.HasPrefix(real, "s3://") {
		for _, r := range s.Remote {
			if real == r || strings.HasSuffix(r, "/") && strings.HasPrefix(real, r) {
				return real, nil
			}
		}
		return "", fmt.Errorf("sandbox: %s is not under a data root", real)
	}
	abs, err := filepath.Abs(real)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	for _, c := range s.Coarse {
		if strings.HasPrefix(abs, c) {
			return abs, nil
		}
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	link := filepath.Join(s.Dir, abs)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used[abs] = true
	if old, ok := s.links[abs]; ok && os.SameFile(old, st) {
		return link, nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	if err := os.Link(abs, link); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	s.links[abs] = st
	return link, nil
}

// Prune removes the links not asked for since the last prune, except
// those keep still wants (files a compaction replaced that running
// queries may read).
func (s *Files) Prune(keep func(real string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for real := range s.links {
		if s.used[real] || keep(real) {
			continue
		}
		_ = os.Remove(filepath.Join(s.Dir, real))
		delete(s.links, real)
	}
	s.used = map[string]bool{}
}

// Unmap turns the served paths in a message back into the files' own.
func (s *Files) Unmap(msg string) string {
	if s == nil {
		return msg
	}
	return strings.ReplaceAll(msg, s.Dir, "")
}

// Close removes the directory: the links, never the files.
func (s *Files) Close() {
	if s != nil {
		_ = os.RemoveAll(s.Dir)
	}
}
