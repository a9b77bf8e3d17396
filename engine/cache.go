//go:build duckdb_arrow

package engine

import (
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The result cache keeps small results (aggregates, mostly) of read-only
// queries, keyed on the statement, its parameters, the catalog version the
// query saw and the write generation of each writable table it names. A
// file change moves the catalog version; a write or a tick moves a
// writable table's generation. Either makes the old entries unreachable,
// so a stale answer is never served once a change is visible.
//
// Only a sandboxed engine caches: there, the catalog's files and the live
// tier are the only state a query can read. Unsandboxed (the CLI and the
// shell), a session can create and change tables of its own.
type resultCache struct {
	mu       sync.Mutex
	max      int64 // bytes of Arrow buffers in all entries
	entryMax int64
	size     int64
	lru      *list.List // of *cacheEntry, most recent first
	byKey    map[string]*list.Element
	version  uint64 // the newest catalog version seen
	hits     int64
	misses   int64
}

type cacheEntry struct {
	key     string
	version uint64
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	bytes   int64
	plan    *Plan
}

func newResultCache(maxBytes int64) *resultCache {
	if maxBytes <= 0 {
		return nil
	}
	return &resultCache{max: maxBytes, entryMax: max(maxBytes/16, 1), lru: list.New(), byKey: map[string]*list.Element{}}
}

// cacheKey returns the key of a statement, or "" when it must not be
// cached. version is the catalog version read before the views were
// synced, so the result is of that version or a newer one.
//
// A statement that calls a function whose value may change between runs
// (DuckDB's duckdb_functions() says its stability is not CONSISTENT:
// random(), now(), txid_current(), ...), or names one of SQL's value
// functions (current_timestamp, user, ...), is never cached. The writable
// tables it reads are the named relations of its parsed tree: their write
// generations are part of the key.
func (e *Engine) cacheKey(text string, args []any, plan *Plan, version uint64) string {
	if e.cache == nil || !plan.parsed || plan.FromStats || len(plan.Tables) == 0 {
		return ""
	}
	for _, f := range plan.stmt.Functions() {
		if !e.consistent[f] {
			return ""
		}
	}
	if len(plan.stmt.ValueFunctions()) > 0 {
		return "" // current_timestamp and the like: calls, once bound
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v%d", version)
	for _, name := range plan.stmt.TableNames() {
		if lt, ok := e.live[name]; ok {
			fmt.Fprintf(&b, " %s@%d", name, lt.gen.Load())
		}
	}
	fmt.Fprintf(&b, "\x00%d", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "\x00%T:%v", a, a)
	}
	b.WriteString("\x00")
	b.WriteString(text)
	return b.String()
}

// consistentFunctions are the functions whose every overload DuckDB
// declares CONSISTENT: the same arguments always give the same value.
// Functions it does not list (macros, unknown names) are not in the set,
// so a statement calling one is not cached.
func consistentFunctions(c *conn, e *Engine) (map[string]bool, error) {
	rows, err := e.readAll(context.Background(), c, "SELECT lower(function_name) FROM duckdb_functions() GROUP BY ALL HAVING bool_and(stability = 'CONSISTENT')")
	if err != nil {
		return nil, err
	}
	defer release(rows)
	out := map[string]bool{}
	for _, r := range rows {
		col := r.Column(0).(*array.String)
		for i := range col.Len() {
			out[strings.Clone(col.Value(i))] = true
		}
	}
	return out, nil
}

// get returns the entry under key with its batches retained for the
// caller, or nil.
func (c *resultCache) get(key string, version uint64) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(version)
	el, ok := c.byKey[key]
	if !ok {
		c.misses++
		return nil
	}
	c.hits++
	c.lru.MoveToFront(el)
	ent := el.Value.(*cacheEntry)
	for _, b := range ent.batches {
		b.Retain()
	}
	return ent
}

// put stores a result; the cache takes over the caller's references to
// batches (released at once when the result is too large to keep).
func (c *resultCache) put(ent *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(ent.version)
	if ent.bytes > c.entryMax || ent.version < c.version {
		release(ent.batches)
		return
	}
	if old, ok := c.byKey[ent.key]; ok {
		c.remove(old)
	}
	c.byKey[ent.key] = c.lru.PushFront(ent)
	c.size += ent.bytes
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

// advance drops the entries of catalog versions older than v, once v is
// seen: no query will look them up again.
func (c *resultCache) advance(v uint64) {
	if v <= c.version {
		return
	}
	c.version = v
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*cacheEntry).version < v {
			c.remove(el)
		}
		el = next
	}
}

// clear drops every entry.
func (c *resultCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
}

func (c *resultCache) remove(el *list.Element) {
	ent := c.lru.Remove(el).(*cacheEntry)
	delete(c.byKey, ent.key)
	c.size -= ent.bytes
	release(ent.batches)
}

// CacheStats are the result cache's figures.
type CacheStats struct {
	Entries      int
	Bytes        int64
	Hits, Misses int64
}

// CacheStats returns the result cache's figures (zero when it is off).
func (e *Engine) CacheStats() CacheStats {
	c := e.cache
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: c.lru.Len(), Bytes: c.size, Hits: c.hits, Misses: c.misses}
}

// collector gathers a streaming result's batches for the cache, until they
// pass the entry limit.
type collector struct {
	key     string
	version uint64
	batches []arrow.RecordBatch
	bytes   int64
	over    bool
}

func (k *collector) add(b arrow.RecordBatch, limit int64) {
	if k.over {
		return
	}
	k.bytes += batchBytes(b)
	if k.bytes > limit {
		k.over = true
		release(k.batches)
		k.batches = nil
		return
	}
	b.Retain()
	k.batches = append(k.batches, b)
}
