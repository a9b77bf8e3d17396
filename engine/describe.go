//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	mapping "github.com/duckdb/duckdb-go-bindings"
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
	var expect mapping.StatementType
	if e.opts.Sandbox {
		// The same gate as Query.
		p, err := e.plan(ctx, sql, nil)
		if err != nil {
			return nil, err
		}
		expect = p.expect()
	}
	c, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(c)
	st, err := e.describeOn(ctx, c, sql, expect)
	return st, e.clean(err)
}

// describeOn is Describe's work on a connection the caller holds; expect
// is the statement type the planner took sql for (see gate).
func (e *Engine) describeOn(ctx context.Context, c *conn, sql string, expect mapping.StatementType) (*Statement, error) {
	defer interruptOnDone(ctx, c)()
	stmt, err := prepare(c, sql)
	if err != nil {
		return nil, err
	}
	defer mapping.DestroyPrepare(&stmt)
	if err := e.gate(stmt, expect); err != nil {
		return nil, err
	}

	var opts mapping.ArrowOptions
	mapping.ConnectionGetArrowOptions(c.c, &opts)
	defer mapping.DestroyArrowOptions(&opts)
	cc := mapping.PreparedStatementColumnCount(stmt)
	names := make([]string, cc)
	types := make([]mapping.LogicalType, cc)
	for i := range cc {
		names[i] = mapping.PreparedStatementColumnName(stmt, i)
		types[i] = mapping.PreparedStatementColumnLogicalType(stmt, i)
	}
	st := &Statement{}
	if st.Schema, err = arrowSchema(opts, types, names); err != nil {
		return nil, err
	}
	if st.Params, err = paramSchema(c, stmt); err != nil {
		return nil, err
	}
	switch mapping.PreparedStatementType(stmt) {
	case mapping.StatementTypeSelect, mapping.StatementTypeExplain, mapping.StatementTypeRelation:
		st.ReadOnly = true
	}
	return st, nil
}

// paramSchema describes a prepared statement's parameters ($1, $2, ...);
// one whose type DuckDB cannot tell yet is arrow.Null.
func paramSchema(c *conn, stmt mapping.PreparedStatement) (*arrow.Schema, error) {
	var opts mapping.ArrowOptions
	mapping.ConnectionGetArrowOptions(c.c, &opts)
	defer mapping.DestroyArrowOptions(&opts)
	n := mapping.NParams(stmt)
	fields := make([]arrow.Field, n)
	for i := range n {
		name := fmt.Sprintf("$%d", i+1)
		lt := mapping.ParamLogicalType(stmt, i+1)
		fields[i] = arrow.Field{Name: name, Type: arrow.Null, Nullable: true}
		if mapping.GetTypeId(lt) != mapping.TypeInvalid && mapping.GetTypeId(lt) != mapping.TypeAny {
			if ps, err := arrowSchema(opts, []mapping.LogicalType{lt}, []string{name}); err == nil {
				fields[i] = ps.Field(0)
				fields[i].Nullable = true
			}
			continue
		}
		mapping.DestroyLogicalType(&lt)
	}
	return arrow.NewSchema(fields, nil), nil
}
