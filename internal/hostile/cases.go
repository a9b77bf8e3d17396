package hostile

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/qry-dev/qry/sql"
)

// Want is what a front end must answer to a case.
type Want int

// Wants.
const (
	// Refused: the gate refuses the statement (PERMISSION_DENIED, 403).
	Refused Want = iota + 1
	// Invalid: a syntax error or more than one statement, refused before
	// anything runs (INVALID_ARGUMENT, 400).
	Invalid
	// RefusedOrInvalid: either (a text whose statements are not all
	// queries, a syntax DuckDB may or may not take).
	RefusedOrInvalid
	// Any: the statement may run or fail (a CTE named like a path that
	// shadows it, a truncated statement): it reads no secret, and DuckDB
	// never has to refuse to open a file.
	Any
)

func (w Want) String() string {
	switch w {
	case Refused:
		return "refused"
	case Invalid:
		return "invalid"
	case RefusedOrInvalid:
		return "refused or invalid"
	case Any:
		return "any"
	}
	return fmt.Sprintf("Want(%d)", int(w))
}

// Case is one hostile statement.
type Case struct {
	Class string
	Name  string
	SQL   string
	// Params are positional parameters ($1 or ?), for prepared statements.
	Params []any
	Want   Want
}

// Classes are the classes of Cases, in order.
var Classes = []string{"scoping", "subqueries", "comments", "explain", "parse", "quoting", "paths", "symlink",
	"functions", "macros", "prepared", "statements"}

// Cases are the hostile statements of every class. Paths relative to cwd,
// the working directory of the process that runs DuckDB, are among the
// forms of each path.
func (p *Plant) Cases(cwd string) []Case {
	g := &gen{p: p, cwd: cwd}
	g.scoping()
	g.subqueries()
	g.comments()
	g.explain()
	g.parse()
	g.quoting()
	g.paths()
	g.symlink()
	g.functions()
	g.macros()
	g.prepared()
	g.statements()
	return g.out
}

// Sample is up to n cases of each class, spread over the class.
func Sample(cases []Case, n int) []Case {
	byClass := map[string][]Case{}
	for _, c := range cases {
		byClass[c.Class] = append(byClass[c.Class], c)
	}
	var out []Case
	for _, class := range Classes {
		cs := byClass[class]
		if len(cs) <= n {
			out = append(out, cs...)
			continue
		}
		// One from each of n stretches, at a varying place in it.
		stretch := len(cs) / n
		for i := 0; i < n; i++ {
			out = append(out, cs[i*stretch+(i*37)%stretch])
		}
	}
	return out
}

type gen struct {
	p     *Plant
	cwd   string
	out   []Case
	class string
	seq   int
}

func (g *gen) add(name, sql string, want Want, params ...any) {
	g.seq++
	g.out = append(g.out, Case{Class: g.class, Name: fmt.Sprintf("%03d-%s", g.seq, name), SQL: sql, Params: params, Want: want})
}

// addDecorated adds a case and the same spelled with the i-th decoration
// (round the list): comments or other white space between its tokens.
func (g *gen) addDecorated(name, sql string, want Want, i int) {
	g.add(name, sql, want)
	d := decorations[i%len(decorations)]
	g.add(name+"+"+d.name, d.apply(sql), want)
}

func lit(s string) string   { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func elit(s string) string {
	return "E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
func dollar(s string) string { return "$$" + s + "$$" }
func tagged(s string) string { return "$q$" + s + "$q$" }

// quoting is how a string argument may be written.
var quoting = []struct {
	name string
	q    func(string) string
}{{"string", lit}, {"e-string", elit}, {"dollar", dollar}, {"tagged-dollar", tagged}}

// form is one way of writing a path.
type form struct{ name, path string }

// forms are the ways of writing the path of a file: absolute, relative to
// the working directory, through .. and ., doubled slashes, another case,
// a file: URL, and globs that match it.
func (g *gen) forms(abs string) []form {
	root := g.p.Root
	fromRoot, _ := filepath.Rel(root, abs)
	rel, _ := filepath.Rel(g.cwd, abs)
	relT, _ := filepath.Rel(g.cwd, filepath.Join(root, "t"))
	dir, base := filepath.Split(abs)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	return []form{
		{"absolute", abs},
		{"relative", rel},
		{"dot-relative", "./" + rel},
		{"dotdot", root + "/t/../" + fromRoot},
		{"dotdot-relative", relT + "/../" + fromRoot},
		{"double-slash", strings.ReplaceAll(abs, "/", "//")},
		{"dot-segments", strings.ReplaceAll(abs, "/", "/./")},
		{"other-case", root + "/" + strings.ToUpper(fromRoot)},
		{"file-url", "file://" + abs},
		{"glob-star", dir + "*" + ext},
		{"glob-question", dir + stem[:len(stem)-1] + "?" + ext},
		{"glob-class", dir + "[" + stem[:1] + "]" + stem[1:] + ext},
		{"glob-doublestar", root + "/**/" + base},
	}
}

// pick is the i-th form of a path, round the list.
func (g *gen) pick(abs string, i int) form {
	fs := g.forms(abs)
	return fs[i%len(fs)]
}

// hostile are table expressions that read the secret CSV, in several
// spellings, for the classes that put them somewhere.
func (g *gen) hostile(i int) (string, string) {
	f := g.pick(g.p.Secrets[CSV], i)
	switch i % 5 {
	case 0:
		return "ident-" + f.name, ident(f.path)
	case 1:
		return "string-" + f.name, lit(f.path)
	case 2:
		return "read_csv-" + f.name, "read_csv(" + lit(f.path) + ")"
	case 3:
		return "read_text-" + f.name, "read_text(" + lit(g.pick(g.p.Secrets[Ignored], i).path) + ")"
	}
	return "subquery-" + f.name, "(FROM " + lit(f.path) + ")"
}

func (g *gen) scoping() {
	g.class = "scoping"
	for i, abs := range []string{g.p.Secrets[CSV], g.p.Secrets[Link]} {
		for j, f := range g.forms(abs)[:4] {
			if (i+j)%2 == 1 {
				continue
			}
			k := i*4 + j
			n := ident(f.path)
			other := ident(filepath.Join(filepath.Dir(f.path), "other"+filepath.Ext(f.path)))
			for _, c := range []struct {
				name, sql string
				want      Want
			}{
				{"cte-used-outside-its-subquery", "SELECT * FROM (WITH " + n + " AS (SELECT 1) SELECT * FROM " + n + "), " + n, Refused},
				{"cte-shadows-the-path", "WITH " + n + " AS (SELECT 1 AS x) SELECT * FROM " + n, Any},
				{"cte-seen-in-a-subquery", "WITH " + n + " AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM " + n + ")", Any},
				{"cte-seen-in-where", "WITH " + n + " AS (SELECT 1 AS x) SELECT * FROM t WHERE id IN (SELECT x FROM " + n + ")", Any},
				{"cte-used-before-its-definition", "WITH a AS (SELECT * FROM " + n + "), " + n + " AS (SELECT 1) SELECT * FROM a", Refused},
				{"recursive-forward-reference", "WITH RECURSIVE a AS (SELECT * FROM " + n + "), " + n + " AS (SELECT 1) SELECT * FROM a", Refused},
				{"cte-reads-itself", "WITH " + n + " AS (SELECT * FROM " + n + ") SELECT * FROM " + n, Refused},
				{"nested-cte-used-outside", "WITH a AS (WITH " + n + " AS (SELECT 1) SELECT * FROM " + n + ") SELECT * FROM a, " + n, Refused},
				{"nested-cte-inside", "WITH a AS (WITH " + n + " AS (SELECT 1 AS x) SELECT * FROM " + n + ") SELECT * FROM a", Any},
				{"sibling-cte-scope", "WITH a AS (WITH " + n + " AS (SELECT 1) SELECT 1), b AS (SELECT * FROM " + n + ") SELECT * FROM b", Refused},
				{"recursive-cte-shadows", "WITH RECURSIVE " + n + "(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM " + n + " WHERE x < 3) SELECT * FROM " + n, Any},
				{"recursive-part-reads-path", "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r, " + n + " WHERE x < 3) SELECT * FROM r", Refused},
				{"recursive-anchor-reads-itself", "WITH RECURSIVE " + n + "(x) AS (SELECT * FROM " + n + " UNION ALL SELECT 1) SELECT * FROM " + n, Refused},
				{"with-on-the-left-of-union", "(WITH " + n + " AS (SELECT 1) SELECT * FROM " + n + ") UNION ALL SELECT * FROM " + n, Refused},
				{"with-on-the-right-of-union", "SELECT * FROM " + n + " UNION ALL (WITH " + n + " AS (SELECT 1) SELECT * FROM " + n + ")", Refused},
				{"with-over-a-union", "WITH " + n + " AS (SELECT 1 AS x) SELECT * FROM " + n + " UNION ALL SELECT * FROM " + n, Any},
				{"materialized-cte", "WITH " + n + " AS MATERIALIZED (SELECT 1 AS x) SELECT * FROM " + n + ", (SELECT * FROM " + n + ")", Any},
				{"not-materialized-cte", "WITH " + n + " AS NOT MATERIALIZED (SELECT 1 AS x) SELECT * FROM " + n, Any},
				{"cte-shadows-a-table", "WITH t AS (SELECT * FROM " + n + ") SELECT * FROM t", Refused},
				{"cte-of-another-name", "WITH " + other + " AS (SELECT 1) SELECT * FROM " + n, Refused},
				{"cte-in-another-case", "WITH " + strings.ToUpper(n) + " AS (SELECT 1 AS x) SELECT * FROM " + n, Any},
				{"cte-unicode-fold", "WITH " + unicodeFold(n) + " AS (SELECT 1 AS x) SELECT * FROM " + n, Refused},
				{"cte-qualified-reference", "WITH " + n + " AS (SELECT 1) SELECT * FROM main." + n, Refused},
				{"cte-in-scalar-subquery-used-outside", "SELECT (WITH " + n + " AS (SELECT 1) SELECT * FROM " + n + ") AS x FROM " + n, Refused},
				{"cte-in-exists-used-after", "SELECT * FROM t WHERE EXISTS (WITH " + n + " AS (SELECT 1) SELECT 1) AND id IN (SELECT 1 FROM " + n + ")", Refused},
				{"cte-with-describe", "WITH " + n + " AS (SELECT 1 AS x) SELECT * FROM (DESCRIBE SELECT * FROM " + n + ")", Any},
				{"cte-with-summarize", "WITH " + n + " AS (SELECT 1 AS x) SELECT * FROM (SUMMARIZE SELECT * FROM " + n + ")", Any},
				{"cte-with-show", "WITH " + n + " AS (SELECT 1 AS x) SELECT * FROM (SHOW " + n + ")", Any},
				{"cte-with-pivot", "WITH " + n + " AS (SELECT 'a' AS x) PIVOT " + n + " ON x", Any},
				{"cte-with-pivot-subquery", "WITH " + n + " AS (SELECT 'a' AS x) SELECT * FROM (PIVOT " + n + " ON x)", Any},
				{"cte-with-unpivot", "WITH " + n + " AS (SELECT 'a' AS x) UNPIVOT " + n + " ON x", Any},
				{"pivot-in-values-subquery", "WITH " + n + " AS (SELECT 'a' AS x) SELECT * FROM (PIVOT t ON v IN (SELECT x FROM " + n + "))", Any},
			} {
				g.addDecorated(c.name+"-"+f.name, c.sql, c.want, k)
			}
		}
	}
}

// unicodeFold spells s with letters Unicode folds to the same as ASCII
// ones (ſ for s, K for k): equal to s for strings.EqualFold, not for
// DuckDB.
func unicodeFold(s string) string {
	return strings.NewReplacer("s", "ſ", "k", "\u212a").Replace(s)
}

// subqueries puts a hostile table expression in every place a query can
// hold one.
func (g *gen) subqueries() {
	g.class = "subqueries"
	places := []struct{ name, tmpl string }{
		{"select-list", "SELECT (SELECT count(*) FROM %s) FROM t"},
		{"select-list-exists", "SELECT EXISTS (FROM %s) FROM t"},
		{"where-in", "SELECT * FROM t WHERE v IN (SELECT * FROM %s)"},
		{"where-any", "SELECT * FROM t WHERE v = ANY (SELECT * FROM %s)"},
		{"where-exists", "SELECT * FROM t WHERE EXISTS (SELECT * FROM %s)"},
		{"where-between", "SELECT * FROM t WHERE id BETWEEN (SELECT count(*) FROM %s) AND 3"},
		{"having", "SELECT v, count(*) FROM t GROUP BY v HAVING count(*) < (SELECT count(*) FROM %s)"},
		{"group-by", "SELECT count(*) FROM t GROUP BY (SELECT count(*) FROM %s)"},
		{"grouping-sets", "SELECT count(*) FROM t GROUP BY GROUPING SETS ((v), ((SELECT count(*) FROM %s)))"},
		{"join-on", "SELECT * FROM t JOIN t AS u ON u.id = (SELECT count(*) FROM %s)"},
		{"join", "SELECT * FROM t JOIN %s AS x ON true"},
		{"left-join", "SELECT * FROM t LEFT JOIN %s AS x ON true"},
		{"full-join", "SELECT * FROM t FULL JOIN %s AS x ON true"},
		{"natural-join", "SELECT * FROM t NATURAL JOIN %s"},
		{"positional-join", "SELECT * FROM t POSITIONAL JOIN %s"},
		{"semi-join", "SELECT * FROM t SEMI JOIN %s AS x ON true"},
		{"anti-join", "SELECT * FROM t ANTI JOIN %s AS x ON false"},
		{"asof-join", "SELECT * FROM t ASOF JOIN %s AS x ON t.id >= 0"},
		{"comma-join", "SELECT * FROM t, %s"},
		{"cross-join", "SELECT * FROM t CROSS JOIN %s"},
		{"order-by", "SELECT * FROM t ORDER BY (SELECT count(*) FROM %s)"},
		{"lateral", "SELECT * FROM t, LATERAL (SELECT * FROM %s) AS x"},
		{"join-lateral", "SELECT * FROM t JOIN LATERAL (SELECT * FROM %s) AS x ON true"},
		{"limit", "SELECT * FROM t LIMIT (SELECT count(*) FROM %s)"},
		{"offset", "SELECT * FROM t LIMIT 1 OFFSET (SELECT count(*) FROM %s)"},
		{"qualify", "SELECT * FROM t QUALIFY row_number() OVER () > (SELECT count(*) FROM %s)"},
		{"window-order", "SELECT row_number() OVER (ORDER BY (SELECT count(*) FROM %s)) FROM t"},
		{"window-partition", "SELECT sum(id) OVER (PARTITION BY (SELECT count(*) FROM %s)) FROM t"},
		{"window-frame", "SELECT sum(id) OVER (ORDER BY id ROWS BETWEEN (SELECT count(*) FROM %s) PRECEDING AND CURRENT ROW) FROM t"},
		{"aggregate-filter", "SELECT count(*) FILTER (WHERE v IN (FROM %s)) FROM t"},
		{"aggregate-order", "SELECT string_agg(v ORDER BY (SELECT count(*) FROM %s)) FROM t"},
		{"case", "SELECT CASE WHEN id = 1 THEN (SELECT count(*) FROM %s) END FROM t"},
		{"function-argument", "SELECT coalesce(id, (SELECT count(*) FROM %s)) FROM t"},
		{"lambda", "SELECT list_transform([1, 2], x -> (SELECT count(*) FROM %s))"},
		{"list-comprehension", "SELECT [x FOR x IN (SELECT list(1) FROM %s)]"},
		{"struct", "SELECT {'a': (SELECT count(*) FROM %s)}"},
		{"list", "SELECT [(SELECT count(*) FROM %s)]"},
		{"map", "SELECT MAP {1: (SELECT count(*) FROM %s)}"},
		{"array", "SELECT ARRAY(SELECT 1 FROM %s)"},
		{"cast", "SELECT CAST((SELECT count(*) FROM %s) AS VARCHAR)"},
		{"try", "SELECT TRY((SELECT count(*) FROM %s))"},
		{"star-replace", "SELECT * REPLACE ((SELECT count(*) FROM %s) AS v) FROM t"},
		{"columns-lambda", "SELECT COLUMNS(c -> c IN (SELECT 'v' FROM %s)) FROM t"},
		{"distinct-on", "SELECT DISTINCT ON ((SELECT count(*) FROM %s)) * FROM t"},
		{"values", "VALUES ((SELECT count(*) FROM %s))"},
		{"values-in-from", "SELECT * FROM (VALUES ((SELECT count(*) FROM %s))) AS v(x)"},
		{"union", "SELECT * FROM t UNION ALL SELECT * FROM %s"},
		{"union-by-name", "SELECT * FROM t UNION ALL BY NAME FROM %s"},
		{"except", "SELECT * FROM t EXCEPT SELECT * FROM %s"},
		{"intersect", "SELECT * FROM t INTERSECT SELECT * FROM %s"},
		{"from-first", "FROM %s SELECT *"},
		{"from-subquery", "SELECT * FROM (FROM %s)"},
		{"pivot", "PIVOT %s ON column0"},
		{"pivot-subquery", "SELECT * FROM (PIVOT %s ON column0 USING count(*))"},
		{"pivot-in-subquery", "SELECT * FROM (PIVOT t ON v IN (SELECT column0 FROM %s))"},
		{"unpivot", "UNPIVOT %s ON COLUMNS(*)"},
		{"time-travel", "SELECT * FROM t AT (VERSION => (SELECT count(*) FROM %s))"},
		{"table-function-argument", "SELECT * FROM range((SELECT count(*) FROM %s))"},
		{"unnest-argument", "SELECT * FROM unnest((SELECT list(1) FROM %s))"},
		{"json-each-argument", "SELECT * FROM json_each((SELECT '[1]' FROM %s LIMIT 1))"},
		{"like-escape", "SELECT * FROM t WHERE v LIKE 'x' ESCAPE (SELECT '!' FROM %s LIMIT 1)"},
		{"tablesample", "SELECT * FROM %s TABLESAMPLE 1 ROWS"},
		{"in-a-cte", "WITH x AS (SELECT * FROM %s) SELECT * FROM t"},
		{"describe", "DESCRIBE SELECT * FROM %s"},
		{"summarize", "SUMMARIZE SELECT * FROM %s"},
		{"deep", "SELECT * FROM t WHERE id IN (SELECT 1 FROM t WHERE v IN (SELECT v FROM t WHERE EXISTS (SELECT 1 FROM t, (SELECT * FROM %s))))"},
	}
	for i, pl := range places {
		for j := 0; j < 3; j++ {
			name, h := g.hostile(i*3 + j)
			g.addDecorated(pl.name+"-"+name, fmt.Sprintf(pl.tmpl, h), Refused, i*3+j)
		}
	}
}

// decoration respells a statement with other separators between tokens.
type decoration struct {
	name  string
	apply func(string) string
}

var decorations = []decoration{
	{"block-comments", between("/**/")},
	{"newlines", between("\n")},
	{"nested-comments", between(" /* a /* nested */ comment */ ")},
	{"line-comments", between(" -- a comment\n")},
	{"tabs", between("\t")},
	{"quote-in-comment", between(" /* ' \" $$ */ ")},
	{"crlf", between("\r\n")},
	{"semicolon-in-comment", between("/*;*/")},
	{"leading-comment", func(s string) string { return "/* leading */ -- and a line\n" + s }},
	{"trailing-comment", func(s string) string { return s + " -- trailing" }},
	{"spaces", between("   ")},
	{"comment-and-newline", between("/* c */\n")},
}

// between puts sep between every two tokens of a statement, where that
// keeps its meaning: not inside an operator of several characters.
func between(sep string) func(string) string {
	return func(s string) string {
		toks := sql.Lex(s)
		var b strings.Builder
		for i, t := range toks {
			if i > 0 {
				prev := toks[i-1]
				if prev.End < t.Start || !(operator(s, prev) && operator(s, t)) {
					b.WriteString(sep)
				}
				b.WriteString(s[prev.End:t.Start])
			}
			b.WriteString(s[t.Start:t.End])
		}
		return b.String()
	}
}

func operator(s string, t sql.Token) bool {
	return t.Kind == sql.Punct && !strings.ContainsAny(s[t.Start:t.End], "(),;[]{}")
}

// comments spells hostile statements with each decoration, and with
// texts that look like comments to one reader and not to another.
func (g *gen) comments() {
	g.class = "comments"
	csv, txt := g.p.Secrets[CSV], g.p.Secrets[Ignored]
	bases := []struct{ name, sql string }{
		{"read_csv", "SELECT * FROM read_csv(" + lit(csv) + ")"},
		{"path-as-table", "SELECT * FROM " + lit(csv)},
		{"cte-scope", "SELECT * FROM (WITH " + ident(csv) + " AS (SELECT 1) SELECT * FROM " + ident(csv) + "), " + ident(csv)},
		{"explain-analyze-cast", "EXPLAIN ANALYZE SELECT CAST(column0 AS INT) FROM read_csv(" + lit(csv) + ", header = false)"},
		{"read_text-in-where", "SELECT * FROM t WHERE v IN (SELECT content FROM read_text(" + lit(txt) + "))"},
		{"describe", "DESCRIBE SELECT * FROM read_csv(" + lit(csv) + ")"},
		{"qualified", "SELECT * FROM qry.main.t, read_csv(" + lit(csv) + ")"},
	}
	for i, b := range bases {
		for _, d := range decorations {
			g.add(b.name+"+"+d.name, d.apply(b.sql), Refused)
		}
		// Texts that look like comments, in strings and identifiers.
		want := Refused
		if strings.HasPrefix(b.sql, "EXPLAIN") {
			want = RefusedOrInvalid // EXPLAIN is no subquery
		}
		g.add(b.name+"+comment-in-string", "SELECT '--', '/*', * FROM ("+b.sql+") -- */", want)
		g.add(b.name+"+comment-in-identifier", `SELECT 1 AS "--", 2 AS "/*", * FROM (`+b.sql+`) AS "*/"`, want)
		// White space DuckDB may not take for white space.
		for _, ws := range []struct{ name, s string }{{"form-feed", "\f"}, {"vertical-tab", "\v"}, {"nbsp", "\u00a0"}, {"ideographic-space", "\u3000"}} {
			if i%2 == 0 {
				g.add(b.name+"+"+ws.name, between(ws.s)(b.sql), Any)
			}
		}
	}
	// A line comment ends at a carriage return for DuckDB: what a lexer
	// that ends it at a newline only takes for a comment is code.
	hidden := "SELECT CAST(column0 AS INT) FROM read_csv(" + lit(csv) + ", header = false) UNION ALL"
	for _, c := range []struct{ name, sql string }{
		{"cr-ends-line-comment-in-explain", "EXPLAIN --\rANALYZE " + hidden + " --\nSELECT 1"},
		{"cr-ends-line-comment-in-explain-options", "EXPLAIN (FORMAT json) --\r" + hidden + " --\nSELECT 1"},
		{"cr-ends-line-comment-after-explain", "EXPLAIN ANALYZE --\r" + hidden + " --\nSELECT 1"},
		{"cr-ends-line-comment", "SELECT 1 AS x --\r, * FROM read_csv(" + lit(csv) + ") --\n"},
		{"cr-ends-line-comment-in-insert", "INSERT INTO w --\r SELECT 1, content FROM read_text(" + lit(txt) + ") --\n VALUES (1, 'a')"},
		{"cr-ends-line-comment-in-insert-columns", "INSERT INTO w (id, v --\r) WITH h AS (SELECT 1 AS id, content AS v FROM read_text(" + lit(txt) + ") --\n) SELECT * FROM h"},
		{"cr-ends-line-comment-before-cte", "--\rWITH " + ident(csv) + " AS (SELECT 1) --\nSELECT * FROM " + ident(csv)},
		{"unterminated-block-comment", "SELECT * FROM read_csv(" + lit(csv) + ") /* never closed"},
		{"nested-unterminated", "EXPLAIN /* /* */ ANALYZE SELECT * FROM read_csv(" + lit(csv) + ")"},
		{"comment-only", "/* only a comment */ -- and a line"},
	} {
		want := Refused
		switch c.name {
		case "cr-ends-line-comment-before-cte", "cr-ends-line-comment-in-insert":
			want = Any
		case "unterminated-block-comment", "nested-unterminated", "comment-only":
			want = Invalid
		}
		g.add(c.name, c.sql, want)
	}
}

func (g *gen) explain() {
	g.class = "explain"
	csv := g.p.Secrets[CSV]
	prefixes := []string{
		"EXPLAIN ", "EXPLAIN ANALYZE ", "explain analyze ", "Explain Analyze ", "EXPLAIN (FORMAT json) ",
		"EXPLAIN (FORMAT 'json') ", "EXPLAIN (ANALYZE, FORMAT json) ", "EXPLAIN (FORMAT json, ANALYZE) ",
		"EXPLAIN (ANALYZE) ", "EXPLAIN (ANALYZE true) ", "EXPLAIN /**/ ANALYZE ", "EXPLAIN -- c\nANALYZE ",
		"EXPLAIN /* ( */ (FORMAT json) ", "EXPLAIN\n\tANALYZE\n", "/* c */ EXPLAIN ANALYZE ",
		"EXPLAIN ANALYZE /* c */ ", "EXPLAIN /* ANALYZE */ ", "EXPLAIN ( FORMAT /* ) */ json ) ",
	}
	for i, pre := range prefixes {
		f := g.pick(csv, i)
		inners := []struct {
			name, sql string
		}{
			{"cast-error", "SELECT CAST(column0 AS INT) FROM read_csv(" + lit(f.path) + ", header = false)"},
			{"path-as-table", "SELECT * FROM " + ident(f.path)},
			{"cte-scope", "SELECT * FROM (WITH " + ident(f.path) + " AS (SELECT 1) SELECT * FROM " + ident(f.path) + "), " + ident(f.path)},
			{"parenthesized", "(SELECT * FROM read_csv(" + lit(f.path) + "))"},
			{"in-where", "SELECT * FROM t WHERE v IN (SELECT column0 FROM read_csv(" + lit(f.path) + ", header = false))"},
		}
		for _, in := range inners {
			g.add(fmt.Sprintf("prefix-%d-%s-%s", i, in.name, f.name), pre+in.sql, Refused)
		}
		g.add(fmt.Sprintf("prefix-%d-on-a-table", i), pre+"SELECT * FROM t", Any)
	}
	// Prefixes qry does not split: refused whole, or a syntax error.
	for _, c := range []struct{ name, sql string }{
		{"explain-explain", "EXPLAIN EXPLAIN ANALYZE SELECT CAST(column0 AS INT) FROM read_csv(" + lit(csv) + ", header = false)"},
		{"explain-analyse", "EXPLAIN ANALYSE SELECT CAST(column0 AS INT) FROM read_csv(" + lit(csv) + ", header = false)"},
		{"options-then-analyze", "EXPLAIN (FORMAT json) ANALYZE SELECT * FROM read_csv(" + lit(csv) + ")"},
		{"option-number", "EXPLAIN (ANALYZE 1) SELECT * FROM read_csv(" + lit(csv) + ")"},
		{"options-not-closed", "EXPLAIN (FORMAT json SELECT * FROM read_csv(" + lit(csv) + ")"},
		{"explain-nothing", "EXPLAIN ANALYZE"},
		{"pivot-wider-as-options", "EXPLAIN (PIVOT_WIDER " + lit(csv) + " ON column0)"},
		{"pivot-wider-as-options-then-select", "EXPLAIN (PIVOT_WIDER " + lit(csv) + " ON column0) SELECT 1"},
		{"pivot-longer-as-options", "EXPLAIN (PIVOT_LONGER " + lit(csv) + " ON COLUMNS(*)) SELECT 1"},
		{"explain-copy", "EXPLAIN ANALYZE COPY t TO " + lit(filepath.Join(g.p.Out, "x.csv"))},
		{"explain-e-string-option", "EXPLAIN (FORMAT E'\\'') SELECT * FROM read_csv(" + lit(csv) + ")"},
	} {
		g.add(c.name, c.sql, RefusedOrInvalid)
	}
	// DESCRIBE, SHOW and SUMMARIZE of a path, of a query that reads one.
	kinds := []string{CSV, Parquet, JSON, Hidden, InTable}
	for i, k := range kinds {
		for j := 0; j < 2; j++ {
			f := g.pick(g.p.Secrets[k], i*2+j)
			for _, c := range []struct{ name, sql string }{
				{"describe-string", "DESCRIBE " + lit(f.path)},
				{"describe-ident", "DESCRIBE " + ident(f.path)},
				{"show-string", "SHOW " + lit(f.path)},
				{"show-ident", "SHOW " + ident(f.path)},
				{"summarize-string", "SUMMARIZE " + lit(f.path)},
				{"summarize-ident", "SUMMARIZE " + ident(f.path)},
				{"summarize-function", "SUMMARIZE read_csv(" + lit(f.path) + ")"},
				{"describe-function", "DESCRIBE read_csv(" + lit(f.path) + ")"},
				{"describe-query", "DESCRIBE SELECT * FROM " + lit(f.path)},
				{"show-query", "SHOW SELECT * FROM " + ident(f.path)},
				{"summarize-query", "SUMMARIZE SELECT * FROM read_csv(" + lit(f.path) + ")"},
				{"describe-in-from", "SELECT * FROM (DESCRIBE " + lit(f.path) + ")"},
				{"summarize-in-from", "FROM (SUMMARIZE " + ident(f.path) + ")"},
				{"explain-describe", "EXPLAIN DESCRIBE " + lit(f.path)},
				{"explain-analyze-summarize", "EXPLAIN ANALYZE SUMMARIZE " + ident(f.path)},
				{"describe-table-keyword", "DESCRIBE TABLE " + ident(f.path)},
			} {
				want := Refused
				switch c.name {
				case "summarize-function", "describe-function":
					want = Invalid // DuckDB's grammar has no such thing
				}
				g.addDecorated(c.name+"-"+k+"-"+f.name, c.sql, want, i*2+j)
			}
		}
	}
	for _, s := range []string{"SHOW TABLES", "SHOW ALL TABLES", "DESCRIBE t", "SUMMARIZE t", "SHOW t", "EXPLAIN ANALYZE SELECT count(*) FROM t", "DESCRIBE qry.main.t"} {
		g.add("legit-"+strings.ReplaceAll(strings.ToLower(s), " ", "-"), s, Any)
	}
}

func (g *gen) parse() {
	g.class = "parse"
	csv, txt := g.p.Secrets[CSV], g.p.Secrets[Ignored]
	// Every prefix of hostile statements, cut between tokens and inside
	// quotes.
	for _, s := range []string{
		"SELECT * FROM read_csv(" + lit(csv) + ", header = false) WHERE column0 > 'a'",
		"SELECT * FROM (WITH " + ident(csv) + " AS (SELECT 1) SELECT * FROM " + ident(csv) + "), " + ident(csv),
		"EXPLAIN ANALYZE SELECT CAST(column0 AS INT) FROM " + ident(csv),
		"SELECT content FROM read_text($$" + txt + "$$)",
	} {
		toks := sql.Lex(s)
		for i, t := range toks {
			g.add(fmt.Sprintf("truncated-after-token-%d", i), s[:t.End], Any)
			if t.Kind == sql.Str || t.Kind == sql.QuotedIdent {
				g.add(fmt.Sprintf("truncated-in-token-%d", i), s[:(t.Start+t.End)/2], Any)
			}
		}
	}
	for i, c := range []struct{ name, sql string }{
		{"unbalanced-string", "SELECT * FROM read_csv('" + csv + ")"},
		{"unbalanced-ident", `SELECT * FROM "` + csv},
		{"unbalanced-dollar", "SELECT * FROM read_csv($$" + csv + ")"},
		{"unbalanced-tagged-dollar", "SELECT * FROM read_csv($q$" + csv + "$$)"},
		{"escaped-quote-in-e-string", "SELECT * FROM read_csv(E'" + csv + "\\')"},
		{"doubled-quote-at-end", "SELECT * FROM read_csv('" + csv + "'')"},
		{"string-across-the-call", "SELECT 'x FROM read_csv('" + csv + "')"},
		{"garbage-after", "SELECT * FROM t garbage garbage"},
		{"garbage-after-hostile", "SELECT * FROM read_csv(" + lit(csv) + ") garbage garbage"},
		{"parenthesis-after", "SELECT * FROM read_csv(" + lit(csv) + "))"},
		{"dangling-order", "SELECT * FROM read_csv(" + lit(csv) + ") ORDER"},
		{"dangling-where", "SELECT * FROM t WHERE"},
		{"unicode-parentheses", "SELECT * FROM read_csv\uff08" + lit(csv) + "\uff09"},
	} {
		g.addDecorated(c.name, c.sql, Invalid, i)
	}
	out := lit(filepath.Join(g.p.Out, "two.csv"))
	for i, c := range []struct {
		name, sql string
		want      Want
	}{
		{"two-selects", "SELECT 1; SELECT * FROM read_csv(" + lit(csv) + ")", Invalid},
		{"two-selects-hostile-first", "SELECT * FROM read_csv(" + lit(csv) + "); SELECT 1", Invalid},
		{"two-selects-no-space", "SELECT 1;SELECT * FROM " + lit(csv), Invalid},
		{"empty-statement-between", "SELECT 1;; FROM " + lit(csv), Invalid},
		{"select-then-copy", "SELECT * FROM t; COPY t TO " + out, RefusedOrInvalid},
		{"copy-then-select", "COPY t TO " + out + "; SELECT * FROM t", RefusedOrInvalid},
		{"select-then-attach", "SELECT 1; ATTACH " + lit(g.p.Secrets[DuckDB]) + " AS s", RefusedOrInvalid},
		{"select-then-set", "SELECT 1; SET enable_external_access = true", RefusedOrInvalid},
		{"explain-then-select", "EXPLAIN SELECT 1; SELECT * FROM " + lit(csv), RefusedOrInvalid},
		{"semicolon-in-comment", "SELECT 1 /* ; */; FROM " + lit(csv), Invalid},
		{"cte-then-statement", "WITH x AS (SELECT 1) SELECT * FROM x; SELECT * FROM read_text(" + lit(txt) + ")", Invalid},
		{"trailing-semicolon", "SELECT * FROM t;", Any},
		{"trailing-semicolons-and-comment", "SELECT * FROM t; ; -- done", Any},
		{"nul-then-statement", "SELECT * FROM t\x00; SELECT * FROM read_csv(" + lit(csv) + ")", Any},
		{"nul-in-string", "SELECT * FROM t WHERE v = 'a\x00' UNION ALL SELECT * FROM read_csv(" + lit(csv) + ")", Any},
		{"nul-before-hostile-tail", "SELECT * FROM t\x00 , read_csv(" + lit(csv) + ")", Any},
		{"byte-order-mark", "\ufeffSELECT * FROM read_csv(" + lit(csv) + ")", RefusedOrInvalid},
		{"only-semicolons", ";;;", Invalid},
		{"empty", "", Invalid},
		{"only-white-space", " \n\t ", Invalid},
	} {
		if strings.ContainsAny(c.sql, "\x00\ufeff") || strings.TrimSpace(c.sql) == "" {
			g.add(c.name, c.sql, c.want)
			continue
		}
		g.addDecorated(c.name, c.sql, c.want, i)
	}
}

func (g *gen) quoting() {
	g.class = "quoting"
	names := func(fn string) []string {
		parts := strings.Split(fn, "_")
		for i, p := range parts {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
		return []string{fn, strings.ToUpper(fn), strings.Join(parts, "_"), ident(fn), ident(strings.ToUpper(fn))}
	}
	for i, k := range []string{CSV, Hidden, Link} {
		for j, f := range g.forms(g.p.Secrets[k])[:4] {
			n := i*4 + j
			for qi, q := range quoting {
				fn := names("read_csv")[(n+qi)%5]
				g.addDecorated(fmt.Sprintf("%s-%s-%s-%s", fn, q.name, k, f.name), "SELECT * FROM "+fn+"("+q.q(f.path)+")", Refused, n+qi)
				g.addDecorated(fmt.Sprintf("from-%s-%s-%s", q.name, k, f.name), "SELECT * FROM "+q.q(f.path), Refused, n+qi)
			}
			g.add("from-ident-"+k+"-"+f.name, "SELECT * FROM "+ident(f.path), Refused)
			g.add("from-ident-quoted-string-"+k+"-"+f.name, "SELECT * FROM "+ident(lit(f.path)), Refused)
			g.add("from-ident-other-case-"+k+"-"+f.name, "SELECT * FROM "+ident(strings.ToUpper(f.path)), Refused)
			g.add("read_text-mixed-case-"+k+"-"+f.name, "SELECT * FROM rEaD_TeXt("+lit(f.path)+")", Refused)
			g.add("list-argument-"+k+"-"+f.name, "SELECT * FROM READ_CSV(["+lit(f.path)+", "+lit(g.p.TableCSV)+"])", Refused)
		}
	}
	csv := g.p.Secrets[CSV]
	dir, base := filepath.Split(csv)
	for _, c := range []struct{ name, arg string }{
		{"concatenation", lit(dir) + " || " + lit(base)},
		{"concat-function", "concat(" + lit(dir) + ", " + lit(base) + ")"},
		{"adjacent-strings", lit(dir) + "\n" + lit(base)},
		{"lower", "lower(" + lit(strings.ToUpper(csv)) + ")"},
		{"replace", "replace(" + lit(strings.ReplaceAll(csv, "secret", "XX")) + ", 'XX', 'secret')"},
		{"chr", "chr(47) || " + lit(strings.TrimPrefix(csv, "/"))},
		{"subquery", "(SELECT " + lit(csv) + ")"},
		{"cast", "CAST(" + lit(csv) + " AS VARCHAR)"},
		{"e-string-hex-escapes", "E'" + hexEscapes(csv) + "'"},
		{"unicode-escapes", "U&'" + unicodeEscapes(csv) + "'"},
		{"getvariable", "getvariable('p')"},
		{"named-parameter", lit(csv) + ", header = false, all_varchar = true"},
		{"filename-option", lit(csv) + ", filename = true"},
	} {
		want := Refused
		if c.name == "unicode-escapes" {
			want = RefusedOrInvalid // DuckDB's parser: unicode_to_utf8 not implemented
		}
		g.add("read_csv-"+c.name, "SELECT * FROM read_csv("+c.arg+")", want)
		g.add("read_text-"+c.name, "FROM read_text("+c.arg+")", want)
	}
	for _, c := range []struct{ name, sql string }{
		{"schema-qualified", "SELECT * FROM main.read_csv(" + lit(csv) + ")"},
		{"catalog-qualified", "SELECT * FROM qry.main.read_csv(" + lit(csv) + ")"},
		{"system-qualified", "SELECT * FROM system.main.read_csv(" + lit(csv) + ")"},
		{"alias-with-columns", "SELECT * FROM read_csv(" + lit(csv) + ") AS x(a, b)"},
		{"string-as-qualified-table", "SELECT * FROM qry.main." + ident(csv)},
		{"schema-qualified-ident", "SELECT * FROM main." + ident(csv)},
		{"information-schema-ident", "SELECT * FROM information_schema." + ident(csv)},
		{"unquoted-file-name", "SELECT * FROM secret.csv"},
		{"unquoted-three-parts", "SELECT * FROM _private.secret.csv"},
	} {
		g.add(c.name, c.sql, Refused)
	}
	g.add("unicode-escaped-ident", "SELECT * FROM U&\""+unicodeEscapes(csv)+"\"", RefusedOrInvalid)
}

func hexEscapes(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c == '/' {
			b.WriteString(`\x2f`)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unicodeEscapes(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c == '/' || c == 's' {
			fmt.Fprintf(&b, `\%04x`, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (g *gen) paths() {
	g.class = "paths"
	kinds := []string{CSV, Parquet, JSON, DuckDB, Hidden, Ignored, InTable, Other, Outside}
	for i, k := range kinds {
		for j, f := range g.forms(g.p.Secrets[k]) {
			n := i*13 + j
			g.add("from-"+k+"-"+f.name, "FROM "+lit(f.path), Refused)
			g.add("read_text-"+k+"-"+f.name, "SELECT content FROM read_text("+lit(f.path)+")", Refused)
			if n%3 == 0 {
				g.add("read_blob-"+k+"-"+f.name+"+"+decorations[n%len(decorations)].name,
					decorations[n%len(decorations)].apply("SELECT content FROM read_blob("+lit(f.path)+")"), Refused)
			}
		}
	}
	// Globs that reach the secrets from further up.
	for _, pat := range []string{g.p.Root + "/*", g.p.Root + "/**", g.p.Root + "/*/*", g.p.Root + "/**/*.csv",
		g.p.Root + "/_*/*", g.p.Root + "/.*/*", g.p.Root + "/t/*", g.p.Root + "/t/*.csv", g.p.Dir + "/**", "/**/secret.csv",
		g.p.Root + "/{_private,t}/*.csv", "file://" + g.p.Root + "/**"} {
		g.add("glob-function-"+pat, "SELECT * FROM glob("+lit(pat)+")", Refused)
		g.add("glob-read_text-"+pat, "SELECT * FROM read_text("+lit(pat)+")", Refused)
		g.add("glob-from-"+pat, "SELECT * FROM "+lit(pat), Refused)
	}
	// The table's own directory, through paths and a file name DuckDB
	// might resolve against the working directory.
	for _, c := range []struct{ name, sql string }{
		{"table-file-by-path", "SELECT * FROM read_csv(" + lit(g.p.TableCSV) + ")"},
		{"table-file-as-table", "SELECT * FROM " + ident(g.p.TableCSV)},
		{"bare-file-name", "SELECT * FROM 'secret.csv'"},
		{"home", "SELECT * FROM read_text('~/.ssh/id_rsa')"},
		{"proc", "SELECT * FROM read_text('/proc/self/environ')"},
		{"etc", "SELECT * FROM read_csv('/etc/passwd')"},
	} {
		g.add(c.name, c.sql, Refused)
	}
}

func (g *gen) symlink() {
	g.class = "symlink"
	link, out := g.p.Secrets[Link], g.p.Secrets[Outside]
	for i, f := range g.forms(link) {
		for _, c := range []struct{ name, sql string }{
			{"read_csv", "SELECT * FROM read_csv(" + lit(f.path) + ")"},
			{"read_text", "SELECT content FROM read_text(" + lit(f.path) + ")"},
			{"read_blob", "SELECT content FROM read_blob(" + lit(f.path) + ")"},
			{"as-table", "SELECT * FROM " + ident(f.path)},
			{"sniff_csv", "SELECT * FROM sniff_csv(" + lit(f.path) + ")"},
			{"in-union", "SELECT * FROM t UNION ALL SELECT * FROM " + lit(f.path)},
		} {
			g.addDecorated(c.name+"-"+f.name, c.sql, Refused, i)
		}
	}
	for _, f := range g.forms(out)[:5] {
		g.add("target-read_csv-"+f.name, "SELECT * FROM read_csv("+lit(f.path)+")", Refused)
		g.add("target-as-table-"+f.name, "SELECT * FROM "+lit(f.path), Refused)
	}
	g.add("link-by-a-glob-of-the-table", "SELECT * FROM read_csv("+lit(filepath.Join(g.p.Root, "t", "*.csv"))+", union_by_name = true)", Refused)
	g.add("link-directory-glob", "SELECT * FROM glob("+lit(filepath.Join(g.p.Root, "t", "*"))+")", Refused)
}

// fileFunctions are DuckDB's table functions that read files, with the
// secret each is given.
var fileFunctions = []struct{ name, kind, extra string }{
	{"read_csv", CSV, ""}, {"read_csv_auto", CSV, ""}, {"sniff_csv", CSV, ""},
	{"read_parquet", Parquet, ""}, {"parquet_scan", Parquet, ""}, {"parquet_metadata", Parquet, ""},
	{"parquet_schema", Parquet, ""}, {"parquet_file_metadata", Parquet, ""}, {"parquet_kv_metadata", Parquet, ""},
	{"parquet_full_metadata", Parquet, ""}, {"parquet_bloom_probe", Parquet, ", 'v', 'x'"},
	{"read_json", JSON, ""}, {"read_json_auto", JSON, ""}, {"read_ndjson", JSON, ""}, {"read_ndjson_auto", JSON, ""},
	{"read_json_objects", JSON, ""}, {"read_json_objects_auto", JSON, ""}, {"read_ndjson_objects", JSON, ""},
	{"read_text", Ignored, ""}, {"read_blob", Ignored, ""}, {"read_duckdb", DuckDB, ""}, {"glob", CSV, ""},
}

func (g *gen) functions() {
	g.class = "functions"
	styles := []string{"SELECT * FROM %s", "FROM %s", "SELECT * FROM t, %s", "SELECT * FROM t WHERE EXISTS (FROM %s)", "SELECT (SELECT count(*) FROM %s)"}
	cases := []func(string) string{strings.ToLower, strings.ToUpper, func(s string) string {
		return strings.ToUpper(s[:1]) + s[1:]
	}}
	for i, fn := range fileFunctions {
		for j, f := range g.forms(g.p.Secrets[fn.kind]) {
			n := i*13 + j
			call := cases[n%3](fn.name) + "(" + lit(f.path) + fn.extra + ")"
			if n%7 == 3 && fn.name != "glob" && fn.extra == "" {
				call = cases[n%3](fn.name) + "([" + lit(f.path) + "])"
			}
			g.add(fn.name+"-"+f.name, fmt.Sprintf(styles[n%len(styles)], call), Refused)
		}
		// Every function also on the other secrets, absolute.
		for _, k := range []string{Hidden, InTable, Other, Outside} {
			g.add(fn.name+"-"+k, "SELECT * FROM "+fn.name+"("+lit(g.p.Secrets[k])+fn.extra+")", Refused)
		}
	}
	csv := g.p.Secrets[CSV]
	q := lit("SELECT * FROM read_csv(" + lit(csv) + ")")
	for _, c := range []struct{ name, sql string }{
		{"query", "SELECT * FROM query(" + q + ")"},
		{"query-from-path", "SELECT * FROM query(" + lit("FROM "+lit(csv)) + ")"},
		{"query-upper", "SELECT * FROM QUERY(" + q + ")"},
		{"query_table", "SELECT * FROM query_table(" + lit(csv) + ")"},
		{"query_table-list", "SELECT * FROM query_table([" + lit("t") + ", " + lit(csv) + "], true)"},
		{"query_table-ident", "FROM query_table(" + ident(csv) + ")"},
		{"json_execute_serialized_sql", "SELECT * FROM json_execute_serialized_sql(json_serialize_sql(" + q + "))"},
		{"duckdb_secrets", "SELECT * FROM duckdb_secrets()"},
		{"which_secret", "SELECT * FROM which_secret(" + lit(csv) + ", 'local')"},
		{"duckdb_settings", "SELECT * FROM duckdb_settings()"},
		{"duckdb_extensions", "SELECT * FROM duckdb_extensions()"},
		{"duckdb_logs", "SELECT * FROM duckdb_logs()"},
		{"duckdb_temporary_files", "SELECT * FROM duckdb_temporary_files()"},
		{"histogram", "SELECT * FROM histogram(" + lit(csv) + ", column0)"},
		{"histogram_values", "SELECT * FROM histogram_values(" + lit(csv) + ", column0)"},
		{"summary", "SELECT * FROM summary((FROM " + lit(csv) + "))"},
		{"range-with-subquery", "SELECT * FROM range((SELECT count(*) FROM read_csv(" + lit(csv) + ")))"},
		{"unnest-with-subquery", "SELECT * FROM unnest((SELECT list(column0) FROM read_csv(" + lit(csv) + ", header = false)))"},
		{"json_each-with-subquery", "SELECT * FROM json_each((SELECT to_json(list(column0)) FROM read_csv(" + lit(csv) + ", header = false)))"},
		{"generate_series-with-subquery", "SELECT * FROM generate_series(1, (SELECT count(*) FROM " + lit(csv) + "))"},
		{"pragma_table_info", "SELECT * FROM pragma_table_info(" + lit(csv) + ")"},
		{"pragma_show", "SELECT * FROM pragma_show(" + lit(csv) + ")"},
		{"quoted-name", "SELECT * FROM \"read_csv\"(" + lit(csv) + ")"},
		{"quoted-upper-name", "SELECT * FROM \"READ_CSV\"(" + lit(csv) + ")"},
		{"lateral-argument", "SELECT * FROM (VALUES (" + lit(csv) + ")) v(p), LATERAL read_csv(p)"},
	} {
		g.add(c.name, c.sql, Refused)
	}
	for _, c := range []struct{ name, sql string }{
		{"current_setting", "SELECT current_setting('allowed_directories')"},
		{"information_schema", "SELECT * FROM information_schema.tables"},
		{"pg_catalog", "SELECT * FROM pg_catalog.pg_tables"},
		{"duckdb_tables-view", "SELECT * FROM duckdb_tables"},
		{"range", "SELECT * FROM range(3)"},
		{"unknown-scalar-function-with-path", "SELECT read_csv_scalar(" + lit(csv) + ")"},
	} {
		g.add("legit-"+c.name, c.sql, Any)
	}
}

func (g *gen) macros() {
	g.class = "macros"
	for i, f := range g.forms(g.p.Secrets[CSV])[:6] {
		p := lit(f.path)
		for _, c := range []struct {
			name, sql string
			want      Want
		}{
			{"create-table-macro", "CREATE MACRO m(x) AS TABLE SELECT * FROM read_csv(x)", Refused},
			{"create-temp-table-macro", "CREATE TEMP MACRO m(x) AS TABLE SELECT * FROM read_csv(x)", Refused},
			{"create-or-replace-temporary-macro", "CREATE OR REPLACE TEMPORARY MACRO f(x) AS (SELECT count(*) FROM read_csv(x))", Refused},
			{"create-function", "CREATE FUNCTION f(x) AS (SELECT max(column0) FROM read_csv(x, header = false))", Refused},
			{"create-macro-over-path", "CREATE MACRO leak() AS TABLE FROM " + p, Refused},
			{"create-macro-in-catalog", "CREATE MACRO qry.main.leak() AS TABLE SELECT * FROM read_csv(" + p + ")", Refused},
			{"create-macro-then-use", "CREATE TEMP MACRO m(x) AS TABLE SELECT * FROM read_csv(x); SELECT * FROM m(" + p + ")", RefusedOrInvalid},
			{"use-table-macro", "SELECT * FROM m(" + p + ")", Refused},
			{"use-table-macro-qualified", "SELECT * FROM temp.main.m(" + p + ")", Refused},
			{"use-scalar-macro", "SELECT f(" + p + ")", Any},
			{"use-scalar-macro-in-where", "SELECT * FROM t WHERE id = f(" + p + ")", Any},
			{"drop-macro", "DROP MACRO m", Refused},
			{"builtin-table-macro", "SELECT * FROM histogram(" + p + ", column0)", Refused},
		} {
			g.addDecorated(c.name+"-"+f.name, c.sql, c.want, i)
		}
	}
}

func (g *gen) prepared() {
	g.class = "prepared"
	csv := g.p.Secrets[CSV]
	for i, f := range g.forms(csv) {
		for _, c := range []struct {
			name, sql string
			want      Want
			params    []any
		}{
			{"read_csv-dollar", "SELECT * FROM read_csv($1)", Refused, []any{f.path}},
			{"read_csv-question", "SELECT * FROM read_csv(?)", Refused, []any{f.path}},
			{"read_csv-list", "SELECT * FROM read_csv([$1])", Refused, []any{f.path}},
			{"read_csv-cast", "SELECT * FROM read_csv($1::VARCHAR)", Refused, []any{f.path}},
			{"read_text", "SELECT content FROM read_text(?)", Refused, []any{g.pick(g.p.Secrets[Ignored], i).path}},
			{"read_parquet", "FROM read_parquet($1)", Refused, []any{g.pick(g.p.Secrets[Parquet], i).path}},
			{"glob", "SELECT * FROM glob($1)", Refused, []any{f.path}},
			{"query_table", "SELECT * FROM query_table($1)", Refused, []any{f.path}},
			{"query", "SELECT * FROM query($1)", Refused, []any{"SELECT * FROM read_csv(" + lit(f.path) + ")"}},
			{"explain-analyze-cast", "EXPLAIN ANALYZE SELECT CAST(column0 AS INT) FROM read_csv($1, header = false)", Refused, []any{f.path}},
			{"describe", "DESCRIBE SELECT * FROM read_csv(?)", Refused, []any{f.path}},
			{"subquery", "SELECT * FROM t WHERE v IN (SELECT content FROM read_text($1))", Refused, []any{f.path}},
			{"named", "SELECT * FROM read_csv($path)", Refused, []any{f.path}},
			{"value", "SELECT $1::VARCHAR AS p", Any, []any{f.path}},
			{"compared", "SELECT * FROM t WHERE v = ?", Any, []any{f.path}},
			{"two-values", "SELECT ? AS a, ? AS b", Any, []any{f.path, f.path}},
			{"in-a-cte", "WITH x AS (SELECT ? AS p) SELECT * FROM x", Any, []any{f.path}},
		} {
			g.add(c.name+"-"+f.name, c.sql, c.want, c.params...)
		}
	}
}

func (g *gen) statements() {
	g.class = "statements"
	csv := g.p.Secrets[CSV]
	out := func(name string) string { return lit(filepath.Join(g.p.Out, name)) }
	db := lit(g.p.Secrets[DuckDB])
	for i, f := range g.forms(csv)[:6] {
		if i%2 == 1 {
			continue
		}
		p := lit(f.path)
		for _, c := range []struct{ name, sql string }{
			{"copy-to", "COPY t TO " + out("t.csv")},
			{"copy-to-parquet", "COPY t TO " + out("t.parquet") + " (FORMAT parquet)"},
			{"copy-query-to", "COPY (SELECT * FROM read_csv(" + p + ")) TO " + out("leak.csv")},
			{"copy-to-stdout", "COPY (FROM " + p + ") TO '/dev/stdout'"},
			{"copy-from", "COPY t FROM " + p},
			{"copy-from-into-writable", "COPY w FROM " + p + " (HEADER false)"},
			{"attach", "ATTACH " + db + " AS s"},
			{"attach-read-only", "ATTACH " + db + " AS s (READ_ONLY)"},
			{"attach-memory", "ATTACH ':memory:' AS m"},
			{"attach-csv", "ATTACH " + p + " AS s"},
			{"detach", "DETACH qry"},
			{"use", "USE memory"},
			{"install", "INSTALL spatial"},
			{"force-install", "FORCE INSTALL httpfs"},
			{"install-from-path", "INSTALL " + p},
			{"load", "LOAD spatial"},
			{"load-path", "LOAD " + p},
			{"set-allowed-directories", "SET allowed_directories = ['/']"},
			{"set-external-access", "SET enable_external_access = true"},
			{"set-file-search-path", "SET file_search_path = " + lit(filepath.Dir(f.path))},
			{"set-global", "SET GLOBAL threads = 1"},
			{"set-variable", "SET VARIABLE p = " + p},
			{"reset", "RESET allowed_directories"},
			{"reset-all", "RESET ALL"},
			{"pragma", "PRAGMA enable_profiling"},
			{"pragma-table-info", "PRAGMA table_info(" + p + ")"},
			{"pragma-show", "PRAGMA show(" + p + ")"},
			{"call-pragma", "CALL pragma_table_info(" + p + ")"},
			{"call-read_csv", "CALL read_csv(" + p + ")"},
			{"call-duckdb_settings", "CALL duckdb_settings()"},
			{"create-table-as", "CREATE TABLE x AS SELECT * FROM read_csv(" + p + ")"},
			{"create-temp-table-as", "CREATE TEMP TABLE x AS FROM " + p},
			{"create-view", "CREATE VIEW v AS FROM " + p},
			{"create-temp-view", "CREATE TEMP VIEW v AS SELECT * FROM read_csv(" + p + ")"},
			{"replace-a-catalog-view", "CREATE OR REPLACE VIEW t AS FROM " + p},
			{"create-secret", "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')"},
			{"create-type-from-query", "CREATE TYPE e AS ENUM (SELECT column0 FROM read_csv(" + p + ", header = false))"},
			{"insert-into-table", "INSERT INTO t SELECT * FROM read_csv(" + p + ")"},
			{"insert-values-into-table", "INSERT INTO t VALUES (9, 'x')"},
			{"insert-into-writable", "INSERT INTO w SELECT * FROM read_csv(" + p + ", header = false)"},
			{"insert-into-writable-from-path", "INSERT INTO w SELECT 1, column0 FROM " + p},
			{"insert-values-subquery", "INSERT INTO w VALUES (1, (SELECT content FROM read_text(" + p + ")))"},
			{"insert-by-name", "INSERT INTO w BY NAME FROM " + p},
			{"insert-columns", "INSERT INTO w (v, id) SELECT content, 1 FROM read_text(" + p + ")"},
			{"insert-qualified", "INSERT INTO qry.main.w SELECT 1, column0 FROM read_csv(" + p + ", header = false)"},
			{"insert-or-replace", "INSERT OR REPLACE INTO w SELECT 1, column0 FROM read_csv(" + p + ", header = false)"},
			{"with-insert", "WITH x AS (FROM " + p + ") INSERT INTO w SELECT 1, column0 FROM x"},
			{"insert-then-select", "INSERT INTO w VALUES (1, 'a'); SELECT * FROM " + p},
			{"insert-then-copy", "INSERT INTO w SELECT 1, 'a'; COPY t TO " + out("after-insert.csv")},
			{"insert-into-path", "INSERT INTO " + ident(f.path) + " VALUES ('x', 'y')"},
			{"insert-returning", "INSERT INTO w VALUES (1, 'a') RETURNING (SELECT content FROM read_text(" + p + "))"},
			{"update", "UPDATE w SET v = (SELECT content FROM read_text(" + p + "))"},
			{"delete", "DELETE FROM w WHERE v IN (FROM " + p + ")"},
			{"merge", "MERGE INTO w USING (SELECT 1 AS id, column0 AS v FROM read_csv(" + p + ", header = false)) AS s ON w.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)"},
			{"truncate", "TRUNCATE w"},
			{"drop", "DROP VIEW t"},
			{"alter", "ALTER VIEW t RENAME TO u"},
			{"comment-on", "COMMENT ON VIEW t IS 'x'"},
			{"export", "EXPORT DATABASE " + out("export")},
			{"export-catalog", "EXPORT DATABASE qry TO " + out("export2")},
			{"import", "IMPORT DATABASE " + lit(g.p.Secrets[Export])},
			{"checkpoint", "CHECKPOINT"},
			{"vacuum", "VACUUM"},
			{"analyze", "ANALYZE"},
			{"begin", "BEGIN TRANSACTION"},
			{"prepare", "PREPARE s AS SELECT * FROM read_csv(" + p + ")"},
			{"execute", "EXECUTE s"},
			{"deallocate", "DEALLOCATE s"},
			{"update-extensions", "UPDATE EXTENSIONS"},
		} {
			want := Refused
			switch c.name {
			case "insert-then-select", "insert-then-copy", "insert-returning":
				want = RefusedOrInvalid
			case "pragma-show":
				want = Invalid // show is a keyword: DuckDB's grammar has no such pragma
			}
			g.addDecorated(c.name+"-"+f.name, c.sql, want, i)
		}
	}
	// An INSERT that reads nothing but a CTE named like the path is legit.
	g.add("insert-cte-shadows-path", "INSERT INTO w WITH "+ident(csv)+" AS (SELECT 7 AS id, 'x' AS v) SELECT * FROM "+ident(csv), Any)
}
