package enginetest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// PartsStats counts what RunParts saw.
type PartsStats struct {
	Queries   int // query records run
	Split     int // (query, part count) pairs read in parts
	MultiFile int // of those, with a part of several files
	Pieces    int // of those, with pieces of files (row ranges)
}

// RunParts is the differential test of results read in parts: for every
// query record of every .test file in dir, run in the engine as a whole,
// and for 2, 3 and one part per file, and for 4 and 7 parts with files cut
// into pieces by row number (engine.Partitions), the statement
// run over each part (engine.WithPart), put together, must give the same
// rows as the whole, as a multiset (a split result has no order: only
// statements without ORDER BY are split). A statement read in one piece
// must say why. Statements (INSERTs of writable sets) run in order
// between, as the suite runs them.
func RunParts(t *testing.T, dir string) PartsStats {
	paths, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no .test files in %s (%v)", dir, err)
	}
	var st PartsStats
	for _, p := range paths {
		f, err := ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f.Name, func(t *testing.T) {
			set, ok := fixture.Lookup(f.Fixture)
			if !ok {
				t.Fatalf("fixture %q: no such set", f.Fixture)
			}
			eng := openEngine(t, set, set.Make(t), t.TempDir(), t.TempDir(), f.Sandbox, false)
			for _, r := range f.Records {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				switch r.Type {
				case Statement:
					if engine.IsInsert(r.SQL) {
						var sets [][]any
						if r.Params != nil {
							sets = [][]any{r.Params}
						}
						_, _ = eng.Exec(ctx, r.SQL, sets...)
					}
				case Query:
					st.Queries++
					if err := checkParts(ctx, eng, r, &st); err != nil {
						t.Errorf("line %d: %s: %v", r.Line, r.SQL, err)
					}
					// Most records order their rows to compare them: the
					// same statement unordered may be split.
					if u, ok := unordered(r.SQL); ok {
						r.SQL = u
						if err := checkParts(ctx, eng, r, &st); err != nil {
							t.Errorf("line %d, without its ORDER BY: %s: %v", r.Line, r.SQL, err)
						}
					}
				}
				cancel()
			}
		})
	}
	return st
}

func checkParts(ctx context.Context, eng *engine.Engine, r Record, st *PartsStats) error {
	whole, err := queryRows(ctx, eng, r.SQL, r.Params)
	if err != nil {
		return nil // an error record of the suite's own; not this test's
	}
	for _, opts := range []engine.PartitionOptions{{Parts: 2}, {Parts: 3}, {}, {Parts: 4, PieceRows: 2}, {Parts: 7, PieceRows: 1}} {
		split, err := eng.Partitions(ctx, r.SQL, opts)
		if err != nil {
			return fmt.Errorf("Partitions(%+v): %w", opts, err)
		}
		if len(split.Parts) < 2 {
			if split.Reason == "" {
				return fmt.Errorf("Partitions(%+v): one piece, no reason", opts)
			}
			continue
		}
		if split.Ordered {
			return fmt.Errorf("Partitions(%+v): an ordered result split", opts)
		}
		st.Split++
		var got [][]string
		multi, pieces := false, false
		for i := range split.Parts {
			part := &split.Parts[i]
			multi = multi || len(part.Files) > 1
			for _, f := range part.Files {
				pieces = pieces || f.Rows != nil
			}
			rows, err := queryRows(engine.WithPart(ctx, part), eng, r.SQL, r.Params)
			if err != nil {
				return fmt.Errorf("part %d of %d: %w", i+1, len(split.Parts), err)
			}
			got = append(got, rows...)
		}
		if multi {
			st.MultiFile++
		}
		if pieces {
			st.Pieces++
		}
		if !sameRows(whole, got) {
			return fmt.Errorf("%d parts (%+v) give %d rows %v, the whole %d rows %v", len(split.Parts), opts, len(got), clip(got), len(whole), clip(whole))
		}
	}
	return nil
}

// unordered is sql without a last ORDER BY clause that ends it.
func unordered(sql string) (string, bool) {
	i := strings.LastIndex(strings.ToUpper(sql), "ORDER BY")
	if i < 0 || strings.ContainsAny(sql[i:], "()'\"") {
		return "", false
	}
	return strings.TrimSpace(sql[:i]), true
}

func queryRows(ctx context.Context, eng *engine.Engine, sql string, params []any) ([][]string, error) {
	rows, err := eng.Query(ctx, sql, params...)
	if err != nil {
		return nil, err
	}
	defer rows.Release()
	return fixture.TryArrowRows(rows)
}

// sameRows compares two results as multisets of rows.
func sameRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(rows [][]string) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = strings.Join(r, "\x00")
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func clip(rows [][]string) [][]string { return rows[:min(len(rows), 5)] }
