//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/storage"
)

// Objects on object storage are read through DuckDB's httpfs, which keeps
// each object's size, ETag and modification time after a HEAD request
// (enable_http_metadata_cache) and checks every later GET's ETag against
// the one it keeps: a query never reads one object as two versions, and
// without a HEAD per object a full scan is as fast as DuckDB's own glob.
//
// The engine primes that cache from the catalog: when the catalog lists a
// new or changed object, it is HEADed once (read_blob's size and
// modification time need no GET) and compared with the listing the
// catalog planned with. An object that differs changed since the listing:
// its table is refreshed before any query plans with the old statistics.

// primeChunk is how many objects one read_blob call HEADs; primeWorkers
// calls run at once (httpfs sends one call's HEADs one after another).
const (
	primeChunk   = 64
	primeWorkers = 8
)

// primed are the objects DuckDB's metadata cache holds as the catalog
// listed them: path to ETag. viewMu guards it.
type primed map[string]string

// prime readies DuckDB's metadata cache for the remote objects of snap it
// does not hold as listed, and returns the tables with an object that is
// no longer as the catalog listed it. viewMu is held.
func (e *Engine) prime(ctx context.Context, snap *catalog.Snapshot) ([]string, error) {
	if e.primed == nil {
		return nil, nil // not on object storage
	}
	type want struct {
		table string
		file  *catalog.File
	}
	need := map[string]want{}
	var changed []string
	for _, t := range snap.Tables {
		for _, f := range t.Files {
			if !storage.IsRemote(f.Path) {
				continue
			}
			etag, ok := e.primed[f.Path]
			if ok && etag == f.ETag {
				continue
			}
			if ok {
				changed = append(changed, f.Path)
			}
			need[f.Path] = want{t.Name, f}
		}
	}
	if len(need) == 0 {
		return nil, nil
	}
	paths := make([]string, 0, len(need))
	for p := range need {
		paths = append(paths, p)
	}
	seen, err := e.headObjects(ctx, changed, paths)
	if err != nil {
		return nil, err
	}
	stale := map[string]bool{}
	for _, p := range paths {
		w := need[p]
		got, ok := seen[p]
		if !ok || got.size != w.file.Size || got.mtime != w.file.ModTime.Unix() {
			e.log.Warn("object changed since the catalog listed it: refreshing its table", "table", w.table, "object", p)
			stale[w.table] = true
			// DuckDB holds the object as it is now, which the next listing
			// will show.
			delete(e.primed, p)
			continue
		}
		e.primed[p] = w.file.ETag
	}
	out := make([]string, 0, len(stale))
	for t := range stale {
		out = append(out, t)
	}
	return out, nil
}

// touch reads an object's first bytes past DuckDB's caches: the CSV
// reader opens files without the external file cache (which read_blob and
// the Parquet reader go through, and which would answer from the version
// it holds). Binary data read as lines of text is no error.
const touch = "SELECT c FROM read_csv(%s, columns = {'c': 'VARCHAR'}, header = false, auto_detect = false, " +
	"delim = '\x01', quote = '', escape = '', buffer_size = 4096, max_line_size = 4096, ignore_errors = true) LIMIT 1"

type objectHead struct {
	size, mtime int64
}

// headObjects has DuckDB HEAD paths (on connections of their own, a few
// at once) and returns what it holds for each: size and modification time
// (Unix seconds). DuckDB's entries for changed, objects it may hold as an
// older version, are dropped first: a GET of the object meets another
// ETag, which makes httpfs forget the entry and stop the transfer at the
// response's headers (the GET's error, "ETag ... changed", is expected).
func (e *Engine) headObjects(ctx context.Context, changed, paths []string) (map[string]objectHead, error) {
	var chunks [][]string
	for i := 0; i < len(paths); i += primeChunk {
		chunks = append(chunks, paths[i:min(i+primeChunk, len(paths))])
	}
	if len(changed) > 0 {
		c, err := e.db.Connect()
		if err != nil {
			return nil, err
		}
		for _, p := range changed {
			if b, err := c.ReadAll(ctx, fmt.Sprintf(touch, quote(p))); err == nil {
				duck.Release(b)
			}
		}
		c.Close()
	}
	work := make(chan []string)
	var mu sync.Mutex
	seen := map[string]objectHead{}
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < min(primeWorkers, len(chunks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.db.Connect()
			if err == nil {
				defer c.Close()
				if err = c.Exec("USE " + CatalogName); err != nil {
					err = fmt.Errorf("object storage: %w", err)
				}
			}
			for chunk := range work {
				if err != nil {
					continue // drain
				}
				var got map[string]objectHead
				if got, err = headChunk(ctx, c, chunk); err != nil {
					continue
				}
				mu.Lock()
				for p, h := range got {
					seen[p] = h
				}
				mu.Unlock()
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, ch := range chunks {
		work <- ch
	}
	close(work)
	wg.Wait()
	return seen, firstErr
}

// headChunk reads the size and modification time DuckDB has for each of
// paths: a HEAD each, unless its metadata cache holds the object. An
// object that is gone is missing from the answer (one read_blob call per
// object then, to tell which).
func headChunk(ctx context.Context, c *duck.Conn, paths []string) (map[string]objectHead, error) {
	list := make([]string, len(paths))
	for i, p := range paths {
		list[i] = quote(p)
	}
	q := "SELECT filename, size, CAST(epoch(last_modified) AS BIGINT) FROM read_blob([%s])"
	batches, err := c.ReadAll(ctx, fmt.Sprintf(q, strings.Join(list, ", ")))
	if err != nil {
		if len(paths) == 1 {
			return nil, nil // gone, or unreadable: the query that reads it says which
		}
		out := map[string]objectHead{}
		for _, p := range paths {
			got, err := headChunk(ctx, c, []string{p})
			if err != nil {
				return nil, err
			}
			for k, v := range got {
				out[k] = v
			}
		}
		return out, nil
	}
	defer duck.Release(batches)
	out := map[string]objectHead{}
	for _, b := range batches {
		names := b.Column(0).(*array.String)
		sizes := b.Column(1).(*array.Int64)
		times := b.Column(2).(*array.Int64)
		for i := range int(b.NumRows()) {
			out[strings.Clone(names.Value(i))] = objectHead{sizes.Value(i), times.Value(i)}
		}
	}
	return out, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
