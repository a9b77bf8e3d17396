package parquet

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/qry-dev/qry/connectors"
)

var _ connectors.BatchInspector = Connector{}

// InspectBatch reads the footers of many files with three queries in all
// (schema, then row counts and row-group statistics: see footers) instead
// of three per file.
// Files with nested columns, or a schema DuckDB reads otherwise than
// parquet_schema tells (names it renames, types it changes), are refused
// as a batch (the caller then inspects one by one).
func (c Connector) InspectBatch(ctx context.Context, db *sql.DB, paths []string, _ map[string]string) ([]connectors.FileInfo, error) {
	list := connectors.FileList(paths)
	index := make(map[string]int, len(paths))
	infos := make([]connectors.FileInfo, len(paths))
	for i, p := range paths {
		index[p] = i
		infos[i].Stats = map[string]connectors.ColumnStats{}
	}

	// The schema is DESCRIBE's only for plain files: anything else is
	// refused, and inspected alone.
	rows, err := db.QueryContext(ctx, "SELECT file_name, name, duckdb_type, num_children, repetition_type, column_id FROM parquet_schema("+list+") ORDER BY file_name, column_id")
	if err != nil {
		return nil, err
	}
	names := make([]map[string]bool, len(paths))
	for rows.Next() {
		var file, name string
		var typ, rep sql.NullString
		var children, id sql.NullInt64
		if err := rows.Scan(&file, &name, &typ, &children, &rep, &id); err != nil {
			rows.Close()
			return nil, err
		}
		i, ok := index[file]
		if !ok {
			rows.Close()
			return nil, fmt.Errorf("parquet_schema: unexpected file %s", file)
		}
		if id.Int64 == 0 {
			continue // the root
		}
		if names[i] == nil {
			names[i] = map[string]bool{}
		}
		key := strings.ToLower(name)
		switch {
		case children.Valid && children.Int64 > 0 || rep.String == "REPEATED":
			err = fmt.Errorf("%s: nested column %s", file, name)
		case !typ.Valid || strings.Contains(typ.String, `"`) || typ.String == "BLOB":
			// No type, or one DuckDB reads as another: "NULL" as
			// INTEGER, binary as GEOMETRY (a geometry logical type,
			// GeoParquet metadata).
			err = fmt.Errorf("%s: column %s has no DuckDB type", file, name)
		case name == "" || names[i][key]:
			err = fmt.Errorf("%s: column name %q empty or repeated (DuckDB renames it)", file, name)
		}
		if err != nil {
			rows.Close()
			return nil, err
		}
		names[i][key] = true
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
