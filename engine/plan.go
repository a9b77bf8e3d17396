//go:build duckdb_arrow

package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/duck"
	"github.com/qry-dev/qry/planner"
	"github.com/qry-dev/qry/sql"
)

// Plan is what the planner did to a statement before DuckDB ran it (see
// package planner).
type Plan = planner.Plan

// TablePlan is one table reference's pruning.
type TablePlan = planner.TablePlan

// plan reads a statement and has the planner prune the catalog tables it
// reads. text is the whole statement: an EXPLAIN prefix is kept aside
// (Plan.Explain) and the statement it explains is planned. In a sandbox
// the statement must be one the gate can analyse whole (sql.CheckSources)
// or it is refused; outside, statements the parser does not serialize
// (anything but SELECT) pass through unchanged and DuckDB reports its own
// errors.
//
// c, if not nil, is the connection the caller holds (a statistics answer
// describes a statement); with nil, planning takes one of its own.
func (e *Engine) plan(ctx context.Context, text string, c *duck.Conn) (*Plan, error) {
	explain, inner, err := sql.SplitExplain(text)
	if err != nil {
		if e.opts.Sandbox {
			return nil, fmt.Errorf("%w: %w", ErrForbidden, err)
		}
		return &Plan{SQL: text}, nil
	}
	if explain != "" {
		// DuckDB runs the prefix as qry read it, comments left out.
		explain = sql.Canonical(explain) + " "
	}
	st, err := e.parse(ctx, inner)
	if err != nil {
		if ctx.Err() != nil {
			return nil, duck.CtxErr(ctx) // a timeout, not a refusal
		}
		if e.opts.Sandbox {
			return nil, refusal(text, len(text)-len(inner), err)
		}
		if errors.Is(err, sql.ErrNotSelect) || errors.Is(err, sql.ErrParse) {
			// DuckDB reports its own errors, with positions.
			return &Plan{SQL: inner, Explain: explain}, nil
		}
		return nil, err
	}
	snap := e.cat.Snapshot()
	if e.opts.Sandbox {
		if err := sql.CheckSources(st, e.isTable(snap)); err != nil {
			return nil, err
		}
	}
	snap, only, err := e.only(ctx, snap)
	if err != nil {
		return nil, err
	}
	env := e.plannerEnv(snap)
	env.Only = only
	p, err := planner.New(inner, explain, st, env)
	if err != nil {
		return nil, err
	}
	if explain != "" && only == nil {
		split := planner.Partition(st, env, e.isAggregate, e.splitOptions(PartitionOptions{}))
		p.Split = &split
	}
	if s := p.Stats; s != nil {
		// The answer's column names are DuckDB's: describe the probe.
		var info *Statement
		if c != nil {
			info, err = e.describeOn(ctx, c, s.Probe, duck.Select)
		} else {
			info, err = e.Describe(ctx, s.Probe)
		}
		if err == nil {
			names := make([]string, info.Schema.NumFields())
			for i, f := range info.Schema.Fields() {
				names[i] = f.Name
			}
			if q, ok := s.SQL(names); ok {
				p.SQL, p.FromStats = q, true
			}
		}
		p.Stats = nil
	}
	return p, nil
}

// parse parses a statement's text, once for texts sent again.
func (e *Engine) parse(ctx context.Context, text string) (*sql.Statement, error) {
	if st, ok := e.parsed.get(0, text); ok {
		return st, nil
	}
	st, err := e.parser.Parse(ctx, text)
	if err == nil {
		e.parsed.put(0, text, st)
	}
	return st, err
}

// isTable tells the gate which names are catalog tables a query can read.
func (e *Engine) isTable(snap *catalog.Snapshot) func(string) bool {
	return func(name string) bool {
		t, ok := snap.Table(name)
		return ok && e.hasView(t.Name) || e.isRejects(name)
	}
}

// checkSources is the sandbox's gate for a statement that is not planned
// (an INSERT's source): it must parse as one SELECT that reads only what
// a query may read.
func (e *Engine) checkSources(ctx context.Context, text string) error {
	st, err := e.parser.Parse(ctx, text)
	if err != nil {
		return refusal(text, 0, err)
	}
	return sql.CheckSources(st, e.isTable(e.cat.Snapshot()))
}

// refusal is the sandbox's answer to a statement its parser did not take:
// a syntax error with its position in text (the parsed part starts at
// base), or a refusal that says why.
func refusal(text string, base int, err error) error {
	var se *sql.SyntaxError
	switch {
	case errors.As(err, &se):
		qe := &fault.Error{Kind: fault.Syntax, Msg: se.Error()}
		if se.Offset >= 0 {
			qe.Line, qe.Col = sql.LineCol(text, base+se.Offset)
		}
		return qe
	case errors.Is(err, sql.ErrMultipleStatements), errors.Is(err, sql.ErrEmpty):
		return err
	case errors.Is(err, sql.ErrNotSelect):
		return fmt.Errorf("%w: only SELECT, EXPLAIN, DESCRIBE and SHOW are accepted", ErrForbidden)
	}
	return fmt.Errorf("%w: the statement cannot be analysed: %w", ErrForbidden, err)
}
