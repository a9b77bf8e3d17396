//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/resultcache"
)

// The result cache (package resultcache) keeps small results of read-only
// queries, keyed on the statement, its parameters, the catalog version the
// query saw and the write generation of each writable table it names. A
// file change moves the catalog version; a write or a tick moves a
// writable table's generation. Either makes the old entries unreachable,
// so a stale answer is never served once a change is visible.
//
// Only a sandboxed engine caches: there, the catalog's files and the live
// tier are the only state a query can read. Unsandboxed (the CLI and the
// shell), a session can create and change tables of its own.

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
	if e.cache == nil || plan.Stmt == nil || plan.FromStats || plan.Part || len(plan.Tables) == 0 {
		return ""
	}
	for _, f := range plan.Stmt.Functions() {
		if !e.consistent[f] {
			return ""
		}
	}
	if len(plan.Stmt.ValueFunctions()) > 0 {
		return "" // current_timestamp and the like: calls, once bound
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v%d", version)
	for _, name := range plan.Stmt.TableNames() {
		if gen, ok := e.live.Generation(name); ok {
			fmt.Fprintf(&b, " %s@%d", name, gen)
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
func consistentFunctions(c *duck.Conn) (map[string]bool, error) {
	return functionNames(c, "SELECT lower(function_name) FROM duckdb_functions() GROUP BY ALL HAVING bool_and(stability = 'CONSISTENT')")
}

// aggregateFunctions are DuckDB's aggregate functions, extensions' too,
// lower-cased.
func aggregateFunctions(c *duck.Conn) (map[string]bool, error) {
	return functionNames(c, "SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'aggregate'")
}

// functionNames is the set of names a query of duckdb_functions() lists
// in its one column.
func functionNames(c *duck.Conn, query string) (map[string]bool, error) {
	rows, err := c.ReadAll(context.Background(), query)
	if err != nil {
		return nil, err
	}
	defer duck.Release(rows)
	out := map[string]bool{}
	for _, r := range rows {
		col := r.Column(0).(*array.String)
		for i := range col.Len() {
			out[strings.Clone(col.Value(i))] = true
		}
	}
	return out, nil
}

// isAggregate tells whether a function name (lower-cased) is an
// aggregate's.
func (e *Engine) isAggregate(name string) bool { return e.aggs[name] }

// CacheStats are the result cache's figures.
type CacheStats = resultcache.Stats

// CacheStats returns the result cache's figures (zero when it is off).
func (e *Engine) CacheStats() CacheStats { return e.cache.Stats() }
