package parquet

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/connectors"
)

func TestColumnOf(t *testing.T) {
	cols := func(names ...string) []connectors.Column {
		out := make([]connectors.Column, len(names))
		for i, n := range names {
			out[i] = connectors.Column{Name: n}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		leaves []string
		cols   []connectors.Column
		want   []string
	}{
		{"flat", []string{"a", "b"}, cols("a", "b"), []string{"a", "b"}},
		{"nested first", []string{"s, x", "s, y", "id"}, cols("s", "id"), []string{"", "", "id"}},
		{"list", []string{"tags, list, element", "id"}, cols("tags", "id"), []string{"", "id"}},
		{"nested after nested", []string{"s, x", "t, x", "id"}, cols("s", "t", "id"), []string{"", "", "id"}},
		// DuckDB renames a duplicate name: neither leaf named "column"
		// may describe "column_1_1".
		{"duplicates", []string{"column", "column_1", "column"}, cols("column", "column_1", "column_1_1"), []string{"column", "column_1", ""}},
		{"flat then nested of the same name", []string{"s", "s, x", "id"}, cols("s", "s_1", "id"), []string{"s", "", "id"}},
		{"name with a comma", []string{"a, b"}, cols("a, b"), []string{""}},
		{"missing leaf", []string{"a", "", "c"}, cols("a", "b", "c"), []string{"a", "", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, columnOf(tc.leaves, tc.cols))
		})
	}
}

func TestTrustedBounds(t *testing.T) {
	unset, yes, no := sql.NullBool{}, sql.NullBool{Valid: true, Bool: true}, sql.NullBool{Valid: true}
	for _, tc := range []struct {
		name, typ, physical string
		ordered             bool
		minExact, maxExact  sql.NullBool
		want                bool
	}{
		{"integer", "BIGINT", "INT64", true, unset, unset, true},
		{"date", "DATE", "INT32", true, unset, unset, true},
		{"double", "DOUBLE", "DOUBLE", true, unset, unset, true},
		{"decimal in an integer", "DECIMAL(9,2)", "INT32", true, unset, unset, true},
		{"no column order", "BIGINT", "INT64", false, yes, yes, false},
		{"marked inexact", "BIGINT", "INT64", true, yes, no, false},
		{"unsigned unmarked", "UBIGINT", "INT64", true, unset, unset, false},
		{"unsigned marked", "UBIGINT", "INT64", true, yes, yes, true},
		{"string unmarked", "VARCHAR", "BYTE_ARRAY", true, unset, unset, false},
		{"string exact", "VARCHAR", "BYTE_ARRAY", true, yes, yes, true},
		{"string truncated", "VARCHAR", "BYTE_ARRAY", true, yes, no, false},
		{"decimal in bytes unmarked", "DECIMAL(20,2)", "FIXED_LEN_BYTE_ARRAY", true, unset, unset, false},
		{"decimal in bytes marked", "DECIMAL(20,2)", "FIXED_LEN_BYTE_ARRAY", true, yes, yes, true},
		{"int96", "TIMESTAMP", "INT96", true, yes, yes, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, trustedBounds(tc.typ, tc.physical, tc.ordered, tc.minExact, tc.maxExact))
		})
	}
}
