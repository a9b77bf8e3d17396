//go:build duckdb_arrow

package engine

import (
	"github.com/qry-dev/qry/internal/duck"

	"context"

	"github.com/apache/arrow-go/v18/arrow"
)

// Statement describes a prepared statement without running it.
type Statement struct {
	// Schema is the result's schema, equal to the Schema of the Rows that
	// Query returns for the same SQL.
	Schema *arrow.Schema
	// Params are the statement's parameters, named $1, $2, ...; a
	// parameter whose type DuckDB cannot tell yet has type arrow.Null.
	Params *arrow.Schema
	// ReadOnly is true for SELECT, EXPLAIN and other statements that only
	// read.
	ReadOnly bool
	// Update is true for an INSERT into a writable table (see Exec).
	Update bool
}

// Describe prepares sql and reports its result schema and parameters.
func (e *Engine) Describe(ctx context.Context, sql string) (*Statement, error) {
	if IsInsert(sql) {
		return e.describeInsert(ctx, sql)
	}
	if err := e.syncViews(ctx); err != nil {
		return nil, err
	}
	// A statement described at this catalog version is described the
	// same again (Flight SQL clients describe each statement they run).
	version := e.cat.Snapshot().Version
	if st, ok := e.described.get(version, sql); ok {
		return st, nil
	}
	kind := duck.Other
	if e.opts.Sandbox {
		// The same gate as Query.
		p, err := e.plan(ctx, sql, nil)
		if err != nil {
			return nil, err
		}
		kind = expect(p)
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(c)
	st, err := e.describeOn(ctx, c, sql, kind)
	if err != nil {
		return nil, e.clean(err)
	}
	e.described.put(version, sql, st)
	return st, nil
}

// describeOn is Describe's work on a connection the caller holds; expect
// is the statement kind the planner took sql for (see gate).
func (e *Engine) describeOn(ctx context.Context, c *duck.Conn, sql string, expect duck.Kind) (*Statement, error) {
	defer c.InterruptOnDone(ctx)()
	stmt, err := c.Prepare(sql)
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	if err := e.gate(stmt, expect); err != nil {
		return nil, err
	}
	st := &Statement{Params: stmt.Params()}
	if st.Schema, err = stmt.Schema(); err != nil {
		return nil, err
	}
	switch stmt.Kind() {
	case duck.Select, duck.Explain, duck.Relation:
		st.ReadOnly = true
	}
	return st, nil
}
