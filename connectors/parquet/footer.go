package parquet

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/qry-dev/qry/connectors"
)

// footers reads what the footers of files say of their rows and columns,
// with two queries for all of them: the row count of each file is the sum
// of its row groups' (what a reader reads), and each top-level column of a
// type connectors.Statsable gets min, max and null count over the row
// groups. infos[i] is paths[i]'s, with its Columns known; footers sets
// Rows, Inexact and Stats.
//
// A file whose footer row count differs from its row groups' sum is
// Inexact. A column chunk's min and max are used only where they are bounds
// qry can compare (see trustedBounds); null counts are used wherever
// present.
func footers(ctx context.Context, db *sql.DB, paths []string, infos []connectors.FileInfo) error {
	list := connectors.FileList(paths)
	index := make(map[string]int, len(paths))
	for i, p := range paths {
		index[p] = i
	}
	footerRows := make([]int64, len(paths))
	typeOrder := make([][]bool, len(paths)) // by leaf column: type-defined order
	rows, err := db.QueryContext(ctx, "SELECT file_name, num_rows, list_transform(column_orders, o -> o LIKE '%TypeDefinedOrder%') FROM parquet_file_metadata("+list+")")
	if err != nil {
		return err
	}
	for rows.Next() {
		var file string
		var orders any
		var n sql.NullInt64
		if err := rows.Scan(&file, &n, &orders); err != nil {
			rows.Close()
			return err
		}
		i, ok := index[file]
		if !ok {
			rows.Close()
			return fmt.Errorf("parquet_file_metadata: unexpected file %s", file)
		}
		footerRows[i] = n.Int64
		if l, ok := orders.([]any); ok {
			for _, o := range l {
				b, _ := o.(bool)
				typeOrder[i] = append(typeOrder[i], b)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	types := make([]map[string]string, len(paths))
	for i := range infos {
		types[i] = map[string]string{}
		for _, c := range infos[i].Columns {
			if connectors.Statsable(c.Type) {
				types[i][c.Name] = c.Type
			}
		}
		infos[i].Rows = 0
		infos[i].Stats = map[string]connectors.ColumnStats{}
	}
	// unknown marks columns whose range is unknown: a row group holding
	// values has no trusted min/max, or the bounds do not compare.
	type column struct {
		file int
		name string
	}
	unknown := map[column]bool{}
	rows, err = db.QueryContext(ctx, `SELECT file_name, row_group_num_rows, column_id, path_in_schema, type,
  stats_min_value, stats_max_value, stats_null_count, min_is_exact, max_is_exact
FROM parquet_metadata(`+list+")")
	if err != nil {
		return err
	}
	for rows.Next() {
		var file, col string
		var rgRows, leaf int64
		var phys, mn, mx sql.NullString
		var nulls sql.NullInt64
		var minExact, maxExact sql.NullBool
		if err := rows.Scan(&file, &rgRows, &leaf, &col, &phys, &mn, &mx, &nulls, &minExact, &maxExact); err != nil {
			rows.Close()
			return err
		}
		i, ok := index[file]
		if !ok {
			rows.Close()
			return fmt.Errorf("parquet_metadata: unexpected file %s", file)
		}
		if leaf == 0 {
			infos[i].Rows += rgRows // one row per column chunk: count each row group once
		}
		typ, ok := types[i][col]
		if !ok {
			continue
		}
		key := column{i, col}
		st := infos[i].Stats[col]
		if !nulls.Valid || st.NullCount < 0 {
			st.NullCount = -1
		} else {
			st.NullCount += nulls.Int64
		}
		ordered := leaf < int64(len(typeOrder[i])) && typeOrder[i][leaf]
		switch {
		case !mn.Valid || !mx.Valid || !trustedBounds(typ, phys.String, ordered, minExact, maxExact):
			// No usable range here: harmless only if the row group
			// holds no value of the column.
			if !nulls.Valid || nulls.Int64 < rgRows {
				unknown[key] = true
			}
		case !st.HasMinMax:
			if _, ok := connectors.Compare(typ, mn.String, mx.String); !ok {
				unknown[key] = true // a value DuckDB's text does not order is no statistic
				break
			}
			st.Min, st.Max, st.HasMinMax = mn.String, mx.String, true
		default:
			lo, ok1 := connectors.Compare(typ, mn.String, st.Min)
			hi, ok2 := connectors.Compare(typ, mx.String, st.Max)
			if !ok1 || !ok2 {
				unknown[key] = true
				break
			}
			if lo < 0 {
				st.Min = mn.String
			}
			if hi > 0 {
				st.Max = mx.String
			}
		}
		infos[i].Stats[col] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range infos {
		infos[i].Inexact = infos[i].Rows != footerRows[i]
		for col, st := range infos[i].Stats {
			if unknown[column{i, col}] {
				st.Min, st.Max, st.HasMinMax = "", "", false
			}
			if infos[i].Rows == 0 {
				st.NullCount = 0
			}
			infos[i].Stats[col] = st
		}
	}
	return nil
}

// trustedBounds reports whether a column chunk's min and max (DuckDB's
// text of the footer's min_value and max_value) bound its values in the
// order qry compares them: numbers by value, strings bytewise, times in
// time. The footer's own word decides:
//   - the column's order must be the type-defined one (column_orders);
//     INT96 has none;
//   - a bound the writer marks not exact (truncated) is no bound;
//   - strings (BYTE_ARRAY), values in fixed byte arrays (decimals, halves)
//     and unsigned integers are trusted only where the writer marks both
//     bounds exact: writers have truncated strings without saying so and
//     ordered decimals' bytes and unsigned integers as signed, while one
//     that writes the marks follows the format's orders.
//
// Float statistics leave NaN out; the planner does not trust a float max.
func trustedBounds(typ, physical string, typeOrder bool, minExact, maxExact sql.NullBool) bool {
	if !typeOrder {
		return false
	}
	if minExact.Valid && !minExact.Bool || maxExact.Valid && !maxExact.Bool {
		return false
	}
	marked := minExact.Valid && maxExact.Valid
	switch physical {
	case "BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE":
		return marked || !unsigned(typ)
	case "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY":
		return marked
	}
	return false // INT96, or a physical type this code does not know
}

func unsigned(typ string) bool {
	switch strings.ToUpper(typ) {
	case "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT":
		return true
	}
	return false
}
