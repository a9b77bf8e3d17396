package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strings"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// The Parquet differential: qry's answers over one Parquet file (a table
// of its own) against DuckDB reading the same file with read_parquet. It
// asks what statistics may answer or prune: count(*), min and max of every
// column, and comparisons with values taken from the file itself, at its
// edges (min, max) and inside. It is shared by the test over generated odd
// files and by the corpus survey (QRY_PARQUET_CORPUS).

// fileCheck is the outcome of the differential over one file.
type fileCheck struct {
	queries    int // queries DuckDB answered
	agreed     int
	refRefused int // queries DuckDB itself refused
	fromStats  int // qry answered from statistics
	pruned     int // qry read no file
	diffs      []string
}

// checkParquetFile runs the differential over the table that is the file
// at path. err is set when DuckDB cannot read the file at all.
func checkParquetFile(ctx context.Context, e *engine.Engine, ref *sql.DB, table, path string) (fileCheck, error) {
	return checkQueries(ctx, e, ref, table, fmt.Sprintf("read_parquet(%s, hive_partitioning=false)", quote(path)))
}

// checkQueries runs the differential over a table against src, DuckDB's
// own read of the same file (any format).
func checkQueries(ctx context.Context, e *engine.Engine, ref *sql.DB, table, src string) (fileCheck, error) {
	var fc fileCheck
	cols, err := describe(ref, src)
	if err != nil {
		return fc, err
	}
	if _, err := fixture.TryRows(ref, "SELECT count(*) FROM "+src); err != nil {
		return fc, err
	}
	qs := []string{"SELECT count(*) FROM %s"}
	for _, c := range cols {
		if !comparableType(c[1]) {
			continue
		}
		col, typ := engine.QuoteIdent(c[0]), c[1]
		qs = append(qs,
			"SELECT min("+col+"), max("+col+") FROM %s",
			"SELECT count(*) FROM %s WHERE "+col+" IS NULL",
			"SELECT count(*) FROM %s WHERE "+col+" IS NOT NULL")
		var lo, hi, mid sql.NullString
		err := ref.QueryRow(fmt.Sprintf(`SELECT min(%[1]s)::VARCHAR, max(%[1]s)::VARCHAR,
		  (SELECT %[1]s::VARCHAR FROM %[2]s WHERE %[1]s IS NOT NULL LIMIT 1 OFFSET (SELECT count(%[1]s) // 2 FROM %[2]s))
		FROM %[2]s`, col, src)).Scan(&lo, &hi, &mid)
		if err != nil {
			fc.refRefused++
			continue
		}
		seen := map[string]bool{}
		for _, v := range []sql.NullString{lo, hi, mid} {
			if !v.Valid || seen[v.String] {
				continue
			}
			seen[v.String] = true
			lit := sqlLiteral(typ, v.String)
			for _, op := range []string{"=", ">", "<"} {
				qs = append(qs, "SELECT count(*) FROM %s WHERE "+col+" "+op+" "+lit)
			}
		}
	}
	for _, q := range qs {
		want, err := fixture.TryRows(ref, fmt.Sprintf(q, src))
		if err != nil {
			fc.refRefused++
			continue
		}
		fc.queries++
		text := fmt.Sprintf(q, engine.QuoteIdent(table))
		got, plan, err := qryRows(ctx, e, text)
		switch {
		case err != nil:
			fc.diffs = append(fc.diffs, fmt.Sprintf("%s: qry: %v; DuckDB: %v", text, err, want))
		case fmt.Sprint(got) != fmt.Sprint(want):
			fc.diffs = append(fc.diffs, fmt.Sprintf("%s: qry %v (%s); DuckDB %v", text, got, strings.TrimSpace(plan.String()), want))
		default:
			fc.agreed++
		}
		if plan != nil && plan.FromStats {
			fc.fromStats++
		}
		if plan != nil && len(plan.Tables) == 1 && plan.Tables[0].Kept == 0 && plan.Tables[0].Files > 0 {
			fc.pruned++
		}
	}
	return fc, nil
}

func qryRows(ctx context.Context, e *engine.Engine, q string) ([][]string, *engine.Plan, error) {
	rows, err := e.Query(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Release()
	out, err := fixture.TryArrowRows(rows)
	return out, rows.Plan(), err
}

// describe returns a relation's columns as name, type pairs.
func describe(db *sql.DB, src string) ([][2]string, error) {
	rows, err := fixture.TryRows(db, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "+src+")")
	if err != nil {
		return nil, err
	}
	out := make([][2]string, len(rows))
	for i, r := range rows {
		out[i] = [2]string{r[0], r[1]}
	}
	return out, nil
}

// comparableType is a column type whose values read the same through
// DuckDB's database/sql driver and qry's Arrow stream (see fixture), and
// whose min and max the differential asks.
func comparableType(typ string) bool {
	switch typ {
	case "BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
		"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE",
		"VARCHAR", "BLOB", "DATE", "TIME", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS",
		"TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE":
		return true
	}
	return strings.HasPrefix(typ, "DECIMAL")
}

// sqlLiteral writes a value (DuckDB's text of it) as the literal a user
// would: a bare number for numbers, a string for strings, dates and
// timestamps, a cast otherwise.
func sqlLiteral(typ, v string) string {
	s := quote(v)
	switch {
	case typ == "VARCHAR", typ == "DATE", strings.HasPrefix(typ, "TIMESTAMP") && !strings.Contains(typ, "ZONE"):
		return s
	case numericType(typ):
		if _, ok := new(big.Rat).SetString(v); ok && !strings.Contains(v, "/") {
			return v
		}
	}
	return "CAST(" + s + " AS " + typ + ")"
}

func numericType(typ string) bool {
	switch typ {
	case "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE":
		return true
	}
	return strings.HasPrefix(typ, "DECIMAL")
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
