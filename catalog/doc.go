// Package catalog maps files to tables: the first step of a query's journey.
//
// Tables come from a qry.yaml (LoadConfig) and from data directories, where
// each top-level entry becomes a table named after it (trips/ is "trips",
// zones.geojson is "zones"). For each table the catalog walks its root,
// reads hive partition values from key=value directories (typed BIGINT,
// DATE or VARCHAR from their values), asks the format's connector to inspect
// every file once (schema, row count, per-column min/max/null count, bbox),
// and unifies the files' schemas by name, widening types. A file that cannot
// be read or reconciled becomes a Problem of its table, with its path and
// reason; it never takes the catalog down.
//
// Readers take an immutable Snapshot; Refresh builds the next one, reusing
// what it knew of files whose size and modification time did not change.
//
//	cat, err := catalog.Open(ctx, catalog.Options{Data: []string{"testdata/sample"}})
//	t, _ := cat.Snapshot().Table("trips")
//	scan, _ := t.Scan(nil, nil) // (SELECT ... FROM read_parquet([...], hive_partitioning=true, ...))
//
// The engine turns that scan into the table DuckDB reads when SQL names
// "trips".
package catalog
