package parquet

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/qry-dev/qry/connectors"
)

var _ connectors.BatchInspector = Connector{}

// InspectBatch reads the footers of many files with three queries in all
// (schema, row counts, row-group statistics) instead of three per file.
// Files with nested columns are refused as a batch (the caller then
// inspects one by one).
func (c Connector) InspectBatch(ctx context.Context, db *sql.DB, paths []string, _ map[string]string) ([]connectors.FileInfo, error) {
	list := connectors.FileList(paths)
	index := make(map[string]int, len(paths))
	infos := make([]connectors.FileInfo, len(paths))
	for i, p := range paths {
		index[p] = i
		infos[i].Stats = map[string]connectors.ColumnStats{}
	}

	rows, err := db.QueryContext(ctx, "SELECT file_name, name, duckdb_type, num_children FROM parquet_schema("+list+")")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var file, name string
		var typ sql.NullString
		var children sql.NullInt64
		if err := rows.Scan(&file, &name, &typ, &children); err != nil {
			rows.Close()
			return nil, err
		}
		i, ok := index[file]
		if !ok {
			rows.Close()
			return nil, fmt.Errorf("parquet_schema: unexpected file %s", file)
		}
		if children.Valid && children.Int64 > 0 {
			if name == "duckdb_schema" || name == "schema" || len(infos[i].Columns) == 0 && !typ.Valid {
				continue // the root
			}
			rows.Close()
			return nil, fmt.Errorf("%s: nested column %s", file, name)
		}
		if !typ.Valid {
			rows.Close()
			return nil, fmt.Errorf("%s: column %s has no DuckDB type", file, name)
		}
		infos[i].Columns = append(infos[i].Columns, connectors.Column{Name: name, Type: typ.String})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = db.QueryContext(ctx, "SELECT file_name, num_rows FROM parquet_file_metadata("+list+")")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var file string
		var n int64
		if err := rows.Scan(&file, &n); err != nil {
			rows.Close()
			return nil, err
		}
		infos[index[file]].Rows = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	types := make([]map[string]string, len(paths))
	for i := range infos {
		types[i] = map[string]string{}
		for _, col := range infos[i].Columns {
			types[i][col.Name] = col.Type
		}
	}
	rows, err = db.QueryContext(ctx, "SELECT file_name, path_in_schema, stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata("+list+")")
	if err != nil {
		return nil, err
	}
	seen := map[[2]string]bool{}
	for rows.Next() {
		var file, col string
		var mn, mx sql.NullString
		var nulls sql.NullInt64
		if err := rows.Scan(&file, &col, &mn, &mx, &nulls); err != nil {
			rows.Close()
			return nil, err
		}
		i := index[file]
		typ, ok := types[i][col]
		if !ok || !connectors.Statsable(typ) {
			continue
		}
		st, had := infos[i].Stats[col], seen[[2]string{file, col}]
		seen[[2]string{file, col}] = true
		if !had {
			st = connectors.ColumnStats{Min: mn.String, Max: mx.String, HasMinMax: mn.Valid && mx.Valid, NullCount: nulls.Int64}
			if !nulls.Valid {
				st.NullCount = -1
			}
			if st.HasMinMax {
				// A value DuckDB's text does not order is no statistic.
				if _, ok := connectors.Compare(typ, mn.String, mx.String); !ok {
					st.HasMinMax = false
				}
			}
			infos[i].Stats[col] = st
			continue
		}
		if !nulls.Valid || st.NullCount < 0 {
			st.NullCount = -1
		} else {
			st.NullCount += nulls.Int64
		}
		if st.HasMinMax && mn.Valid && mx.Valid {
			lo, ok1 := connectors.Compare(typ, mn.String, st.Min)
			hi, ok2 := connectors.Compare(typ, mx.String, st.Max)
			if ok1 && ok2 {
				if lo < 0 {
					st.Min = mn.String
				}
				if hi > 0 {
					st.Max = mx.String
				}
			} else {
				st.HasMinMax = false
			}
		} else if !(mn.Valid && mx.Valid) {
			// A row group without min/max: unless it is all NULL, the
			// file's range is unknown.
			st.HasMinMax = false
		}
		infos[i].Stats[col] = st
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range infos {
		if len(infos[i].Columns) == 0 {
			return nil, fmt.Errorf("%s: no schema", paths[i])
		}
		if infos[i].Rows == 0 {
			for k, st := range infos[i].Stats {
				st.NullCount = 0
				infos[i].Stats[k] = st
			}
		}
	}
	return infos, nil
}
