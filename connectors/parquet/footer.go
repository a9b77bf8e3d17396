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
// Inexact. A column chunk counts for the column it holds whole (see
// columnOf); its min and max are used only where they are bounds qry can
// compare (see trustedBounds), its null count wherever present.
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

	// One row per column chunk (row group × leaf column).
	type chunk struct {
		file         int
		rgRows, leaf int64
		path         string
		phys, mn, mx sql.NullString
		nulls        sql.NullInt64
		minEx, maxEx sql.NullBool
	}
	var chunks []chunk
	leaves := make([][]string, len(paths)) // by file, leaf paths in leaf order
	rows, err = db.QueryContext(ctx, `SELECT file_name, row_group_num_rows, column_id, path_in_schema, type,
  stats_min_value, stats_max_value, stats_null_count, min_is_exact, max_is_exact
FROM parquet_metadata(`+list+")")
	if err != nil {
		return err
	}
	for rows.Next() {
		var file string
		var c chunk
		if err := rows.Scan(&file, &c.rgRows, &c.leaf, &c.path, &c.phys, &c.mn, &c.mx, &c.nulls, &c.minEx, &c.maxEx); err != nil {
			rows.Close()
			return err
		}
		i, ok := index[file]
		if !ok || c.leaf < 0 {
			rows.Close()
			return fmt.Errorf("parquet_metadata: unexpected file %s or column %d", file, c.leaf)
		}
		c.file = i
		chunks = append(chunks, c)
		for int64(len(leaves[i])) <= c.leaf {
			leaves[i] = append(leaves[i], "")
		}
		leaves[i][c.leaf] = c.path
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	owners := make([][]string, len(paths))
	for i := range infos {
		owners[i] = columnOf(leaves[i], infos[i].Columns)
		infos[i].Rows = 0
		infos[i].Stats = map[string]connectors.ColumnStats{}
	}
	types := make([]map[string]string, len(paths))
	for i := range infos {
		types[i] = map[string]string{}
		for _, c := range infos[i].Columns {
			if connectors.Statsable(c.Type) {
				types[i][c.Name] = c.Type
			}
		}
	}
	// unknown marks columns whose range is unknown: a row group holding
	// values has no trusted min/max, or the bounds do not compare.
	type column struct {
		file int
		name string
	}
	unknown := map[column]bool{}
	for _, c := range chunks {
		i := c.file
		if c.leaf == 0 {
			infos[i].Rows += c.rgRows // one row per column chunk: count each row group once
		}
		col := owners[i][c.leaf]
		typ, ok := types[i][col]
		if !ok {
			continue
		}
		key := column{i, col}
		st := infos[i].Stats[col]
		if !c.nulls.Valid || st.NullCount < 0 {
			st.NullCount = -1
		} else {
			st.NullCount += c.nulls.Int64
		}
		ordered := c.leaf < int64(len(typeOrder[i])) && typeOrder[i][c.leaf]
		switch {
		case !c.mn.Valid || !c.mx.Valid || !trustedBounds(typ, c.phys.String, ordered, c.minEx, c.maxEx):
			// No usable range here: harmless only if the row group
			// holds no value of the column.
			if !c.nulls.Valid || c.nulls.Int64 < c.rgRows {
				unknown[key] = true
			}
		case !st.HasMinMax:
			if _, ok := connectors.Compare(typ, c.mn.String, c.mx.String); !ok {
				unknown[key] = true // a value DuckDB's text does not order is no statistic
				break
			}
			st.Min, st.Max, st.HasMinMax = c.mn.String, c.mx.String, true
		default:
			lo, ok1 := connectors.Compare(typ, c.mn.String, st.Min)
			hi, ok2 := connectors.Compare(typ, c.mx.String, st.Max)
			if !ok1 || !ok2 {
				unknown[key] = true
				break
			}
			if lo < 0 {
				st.Min = c.mn.String
			}
			if hi > 0 {
				st.Max = c.mx.String
			}
		}
		infos[i].Stats[col] = st
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

// columnOf names the top-level column each leaf column of a file (paths
// in leaf order, parquet_metadata's path_in_schema) holds the values of,
// or "" for none that statistics describe whole: leaf j is column k's when
// its path is one name, and the top-level columns before it (leaves of a
// nested column share their first path element) number k, and column k
// bears that name. A name DuckDB changed (it renames duplicates) matches
// no leaf.
func columnOf(leaves []string, cols []connectors.Column) []string {
	out := make([]string, len(leaves))
	k := -1
	prev, prevNested := "", false
	for j, p := range leaves {
		first, _, nested := strings.Cut(p, ", ")
		if j == 0 || !nested || !prevNested || first != prev {
			k++
		}
		if !nested && k < len(cols) && cols[k].Name == p {
			out[j] = p
		}
		prev, prevNested = first, nested
	}
	return out
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
