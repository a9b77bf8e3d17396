package catalog

import (
	"strings"

	"github.com/qry-dev/qry/connectors"
)

// Compare orders two values of a column type given in DuckDB's text form
// (see connectors.Compare).
func Compare(typ, a, b string) (int, bool) { return connectors.Compare(typ, a, b) }

// FileType is the type a file has for a table column ("" when the file
// lacks it). Statistics compare with the table's only where the two agree.
func (f *File) FileType(column string) string { return fileType(f, column) }

// Column finds a column by name, case-insensitively.
func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return Column{}, false
}

// ColumnStats aggregates a column's statistics over the table's files:
// min of mins, max of maxes, sum of null counts. ok is false when no file has
// statistics for the column, or a file's are Inexact. Files whose own type
// for the column differs from the table's are left out of min/max (their
// text form may not compare).
func (t *Table) ColumnStats(name string) (st connectors.ColumnStats, ok bool) {
	var col *Column
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			col = &t.Columns[i]
		}
	}
	if col == nil {
		return st, false
	}
	if col.Partition {
		return t.partitionStats(*col), true
	}
	minmax := true
	for _, f := range t.Files {
		if f.Inexact {
			return connectors.ColumnStats{NullCount: -1}, false
		}
		fs, has := f.Stats[col.Name]
		if !has {
			if !fileHas(f, col.Name) {
				// Column missing from the file: all NULL there.
				st.NullCount += f.Rows
				ok = true
				continue
			}
			return connectors.ColumnStats{NullCount: -1}, false
		}
		ok = true
		if fs.NullCount < 0 || st.NullCount < 0 {
			st.NullCount = -1
		} else {
			st.NullCount += fs.NullCount
		}
		if !fs.HasMinMax {
			if f.Rows > fs.NullCount && fs.NullCount >= 0 {
				minmax = false
			}
			continue
		}
		if fileType(f, col.Name) != col.Type {
			minmax = false
			continue
		}
		lo, ok1 := Compare(col.Type, fs.Min, st.Min)
		hi, ok2 := Compare(col.Type, fs.Max, st.Max)
		if st.HasMinMax && (!ok1 || !ok2) {
			minmax = false
			continue
		}
		if !st.HasMinMax || lo < 0 {
			st.Min = fs.Min
		}
		if !st.HasMinMax || hi > 0 {
			st.Max = fs.Max
		}
		st.HasMinMax = true
	}
	if !minmax {
		st.HasMinMax, st.Min, st.Max = false, "", ""
	}
	return st, ok
}

func (t *Table) partitionStats(col Column) connectors.ColumnStats {
	var st connectors.ColumnStats
	for _, f := range t.Files {
		v := f.Partition[col.Name]
		if v == "" {
			st.NullCount += f.Rows
			continue
		}
		if c, _ := Compare(col.Type, v, st.Min); !st.HasMinMax || c < 0 {
			st.Min = v
		}
		if c, _ := Compare(col.Type, v, st.Max); !st.HasMinMax || c > 0 {
			st.Max = v
		}
		st.HasMinMax = true
	}
	return st
}

func fileHas(f *File, name string) bool {
	return fileType(f, name) != ""
}

func fileType(f *File, name string) string {
	for _, c := range f.Columns {
		if strings.EqualFold(c.Name, name) {
			return c.Type
		}
	}
	return ""
}
