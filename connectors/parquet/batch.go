package parquet

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/qry-dev/qry/connectors"
)

var _ connectors.BatchInspector = Connector{}

// InspectBatch reads the footers of many files with three queries in all
// (schema, then row counts and row-group statistics: see footers) instead
// of three per file.
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

	for i := range infos {
		if len(infos[i].Columns) == 0 {
			return nil, fmt.Errorf("%s: no schema", paths[i])
		}
	}
	if err := footers(ctx, db, paths, infos); err != nil {
		return nil, err
	}
	return infos, nil
}
