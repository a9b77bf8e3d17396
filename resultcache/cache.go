// Package resultcache keeps small query results (aggregates, mostly) in
// memory, least recently used first out, bounded by the bytes of their Arrow
// buffers.
//
// Entries are keyed by a string the caller builds (the engine: the
// statement, its parameters, the catalog version and the write generations
// of the tables it reads) and tagged with the catalog version they were
// computed at: once a newer version is seen, older entries are dropped, so
// a stale answer is never served after a change is visible.
//
// It owns the LRU and the collector that gathers a streaming result's
// batches; it knows nothing of SQL, DuckDB or the catalog, and imports only
// Arrow.
package resultcache

import (
	"container/list"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Cache is the LRU. M is what the caller keeps beside each result (the
// engine keeps the plan). A nil *Cache caches nothing.
type Cache[M any] struct {
	mu       sync.Mutex
	max      int64 // bytes of Arrow buffers in all entries
	entryMax int64
	size     int64
	lru      *list.List // of *Entry[M], most recent first
	byKey    map[string]*list.Element
	version  uint64 // the newest catalog version seen
	hits     int64
	misses   int64
}

// Entry is one cached result.
type Entry[M any] struct {
	Key     string
	Version uint64
	Schema  *arrow.Schema
	Batches []arrow.RecordBatch
	Bytes   int64
	Meta    M
}

// New returns a cache of maxBytes, one entry taking at most a 16th of it;
// nil when maxBytes is not positive.
func New[M any](maxBytes int64) *Cache[M] {
	if maxBytes <= 0 {
		return nil
	}
	return &Cache[M]{max: maxBytes, entryMax: max(maxBytes/16, 1), lru: list.New(), byKey: map[string]*list.Element{}}
}

// Get returns the entry under key with its batches retained for the
// caller, or nil. version is the catalog version the caller reads.
func (c *Cache[M]) Get(key string, version uint64) *Entry[M] {
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
	ent := el.Value.(*Entry[M])
	for _, b := range ent.Batches {
		b.Retain()
	}
	return ent
}

// Put stores a result; the cache takes over the caller's references to its
// batches (released at once when the result is too large to keep or of an
// older version than one seen).
func (c *Cache[M]) Put(ent *Entry[M]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(ent.Version)
	if ent.Bytes > c.entryMax || ent.Version < c.version {
		release(ent.Batches)
		return
	}
	if old, ok := c.byKey[ent.Key]; ok {
		c.remove(old)
	}
	c.byKey[ent.Key] = c.lru.PushFront(ent)
	c.size += ent.Bytes
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

// advance drops the entries of catalog versions older than v, once v is
// seen: no query will look them up again.
func (c *Cache[M]) advance(v uint64) {
	if v <= c.version {
		return
	}
	c.version = v
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if el.Value.(*Entry[M]).Version < v {
			c.remove(el)
		}
		el = next
	}
}

// Clear drops every entry.
func (c *Cache[M]) Clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.lru.Len() > 0 {
		c.remove(c.lru.Back())
	}
}

func (c *Cache[M]) remove(el *list.Element) {
	ent := c.lru.Remove(el).(*Entry[M])
	delete(c.byKey, ent.Key)
	c.size -= ent.Bytes
	release(ent.Batches)
}

// Stats are the cache's figures.
type Stats struct {
	Entries      int
	Bytes        int64
	Hits, Misses int64
}

// Stats returns the cache's figures (zero for a nil cache).
func (c *Cache[M]) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Entries: c.lru.Len(), Bytes: c.size, Hits: c.hits, Misses: c.misses}
}

// Collect starts gathering a streaming result to store under key.
func (c *Cache[M]) Collect(key string, version uint64) *Collector[M] {
	return &Collector[M]{cache: c, key: key, version: version}
}

// Collector gathers a streaming result's batches, until they pass the
// cache's entry limit.
type Collector[M any] struct {
	cache   *Cache[M]
	key     string
	version uint64
	batches []arrow.RecordBatch
	bytes   int64
	over    bool
}

// Add retains b for the entry; bytes is its size.
func (k *Collector[M]) Add(b arrow.RecordBatch, bytes int64) {
	if k.over {
		return
	}
	k.bytes += bytes
	if k.bytes > k.cache.entryMax {
		k.over = true
		release(k.batches)
		k.batches = nil
		return
	}
	b.Retain()
	k.batches = append(k.batches, b)
}

// Finish stores the result when complete is true (the stream ended without
// error) and it fits; otherwise it lets the batches go.
func (k *Collector[M]) Finish(complete bool, schema *arrow.Schema, meta M) {
	if !complete || k.over {
		release(k.batches)
		k.batches = nil
		return
	}
	k.cache.Put(&Entry[M]{Key: k.key, Version: k.version, Schema: schema, Batches: k.batches, Bytes: k.bytes, Meta: meta})
	k.batches = nil
}

func release(batches []arrow.RecordBatch) {
	for _, b := range batches {
		b.Release()
	}
}
