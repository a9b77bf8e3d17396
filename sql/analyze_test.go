package sql_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/sql"
)

var tables = map[string][]string{
	"trips": {"id", "fare", "zone_id", "pickup_at", "payment", "year"},
	"zones": {"zone_id", "name", "geometry"},
}

func columns(t string) ([]string, bool) {
	c, ok := tables[strings.ToLower(t)]
	return c, ok
}

func parser(t testing.TB) *sql.Parser {
	p, err := sql.OpenParser()
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// leaves renders a predicate for the reference ref, as the pruner sees it.
func render(p *sql.Pred, ref int) string {
	if p == nil {
		return ""
	}
	switch p.Kind {
	case sql.Leaf:
		if p.Ref != ref {
			return "?"
		}
		var vals []string
		for _, v := range p.Values {
			vals = append(vals, v.Text)
		}
		return p.Column + " " + string(p.Op) + " " + strings.Join(vals, ",")
	case sql.And, sql.Or:
		var parts []string
		for _, c := range p.Children {
			parts = append(parts, render(c, ref))
		}
		sep := " AND "
		if p.Kind == sql.Or {
			sep = " OR "
		}
		return "(" + strings.Join(parts, sep) + ")"
	}
	return "?"
}

func TestAnalyze(t *testing.T) {
	p := parser(t)
	for _, tc := range []struct {
		sql   string
		spans []string // text of each reference's span, "" when not rewritable
		preds []string
		aggs  int
	}{
		{"SELECT * FROM trips WHERE fare > 10.5 AND year = 2024",
			[]string{"trips"}, []string{"(fare > 10.5 AND year = 2024)"}, 0},
		{"SELECT * FROM qry.main.trips AS t WHERE t.fare BETWEEN -2 AND 3 AND t.payment IN ('a', 'b')",
			[]string{"qry.main.trips AS t"}, []string{"(fare BETWEEN -2,3 AND payment IN a,b)"}, 0},
		{"SELECT * FROM trips t JOIN zones z USING (zone_id) WHERE z.name LIKE 'Zo%' AND (fare < 3 OR fare >= 50)",
			[]string{"trips t", "zones z"}, []string{"(? AND (fare < 3 OR fare >= 50))", "(name LIKE Zo AND (? OR ?))"}, 0},
		{"SELECT * FROM trips LEFT JOIN zones ON trips.zone_id = zones.zone_id WHERE name IS NULL",
			[]string{"trips", "zones"}, []string{"?", "name IS NULL "}, 0},
		{"WITH trips AS (SELECT 1 AS fare) SELECT * FROM trips WHERE fare = 1",
			[]string{}, nil, 0},
		{"SELECT * FROM trips WHERE zone_id IN (SELECT zone_id FROM zones WHERE name = 'x') AND pickup_at >= TIMESTAMP '2024-01-01'",
			[]string{"trips", "zones"}, []string{"(? AND pickup_at >= 2024-01-01)", "name = x"}, 0},
		{"SELECT * FROM trips WHERE fare = ? AND upper(payment) = 'X' AND NOT (year = 1)",
			[]string{"trips"}, []string{"(? AND ? AND year <> 1)"}, 0}, // DuckDB folds NOT (=) into <>
		{"SELECT * FROM \"trips\"  \"T\" WHERE \"T\".fare = -4.25", []string{"\"trips\"  \"T\""}, []string{"fare = -4.25"}, 0},
		{"SELECT count(*), min(fare), max(pickup_at) FROM trips WHERE year = 2024", []string{"trips"}, []string{"year = 2024"}, 3},
		{"SELECT count(*) FROM trips GROUP BY year", []string{"trips"}, []string{""}, 0},
		{"SELECT * FROM zones WHERE geometry && 'POINT(1 2)'::GEOMETRY", []string{"zones"}, []string{"geometry && POINT(1 2)"}, 0},
		{"SELECT * FROM other WHERE x = 1", []string{}, nil, 0},
		{"SELECT * FROM read_parquet('x') WHERE x = 1 UNION ALL SELECT fare FROM trips WHERE id <> 3",
			[]string{"trips"}, []string{"id <> 3"}, 0},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			st, err := p.Parse(context.Background(), tc.sql)
			require.NoError(t, err)
			a := sql.Analyze(st, columns)
			var spans, preds []string
			for i, r := range a.Refs {
				span := ""
				if r.Start >= 0 {
					span = tc.sql[r.Start:r.End]
				}
				spans = append(spans, span)
				preds = append(preds, render(r.Pred, i))
			}
			if spans == nil {
				spans = []string{}
			}
			require.Equal(t, tc.spans, spans)
			if tc.preds != nil {
				require.Equal(t, tc.preds, preds)
			}
			require.Len(t, a.Aggs, tc.aggs)
		})
	}
}

func TestParseErrors(t *testing.T) {
	p := parser(t)
	_, err := p.Parse(context.Background(), "EXPLAIN SELECT 1")
	require.ErrorIs(t, err, sql.ErrNotSelect)
	_, err = p.Parse(context.Background(), "SELEC 1")
	require.ErrorIs(t, err, sql.ErrParse)
}

func TestRewrite(t *testing.T) {
	require.Equal(t, "SELECT * FROM (x) AS t JOIN (y) AS u",
		sql.Rewrite("SELECT * FROM trips t JOIN zones u", []sql.Edit{{Start: 14, End: 21, Text: "(x) AS t"}, {Start: 27, End: 34, Text: "(y) AS u"}}))
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM trips WHERE fare > 1 AND (year = 2 OR payment LIKE 'a%')",
		"SELECT * FROM trips t, zones z WHERE t.zone_id = z.zone_id AND z.geometry && 'POINT(0 0)'::GEOMETRY",
		"WITH x AS (SELECT * FROM trips) SELECT count(*) FROM x JOIN zones USING (zone_id) WHERE fare BETWEEN 1 AND 2",
		"SELECT min(fare), max(fare), count(*) FROM trips AS \"a b\" WHERE \"a b\".year IN (1, 2, -3.5)",
	} {
		f.Add(s)
	}
	p := parser(f)
	f.Fuzz(func(t *testing.T, text string) {
		st, err := p.Parse(context.Background(), text)
		if err != nil {
			return
		}
		a := sql.Analyze(st, columns)
		for _, r := range a.Refs {
			if r.Start < 0 {
				continue
			}
			if r.Start > r.End || r.End > len(text) {
				t.Fatalf("span %d:%d out of %q", r.Start, r.End, text)
			}
		}
	})
}
