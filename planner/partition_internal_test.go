package planner

import (
	"testing"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
)

func TestPackIsEvenAndKeepsOrder(t *testing.T) {
	var files []*catalog.File
	for _, size := range []int64{10, 9, 8, 1, 1, 1} {
		files = append(files, &catalog.File{Path: string(rune('a' + len(files))), Size: size, Rows: size})
	}
	parts := pack(files, 3)
	if len(parts) != 3 {
		t.Fatalf("%d parts", len(parts))
	}
	// Largest first into the lightest (the first of equals): {10}, {9, 1},
	// {8, 1, 1}.
	want := [][]string{{"a"}, {"b", "e"}, {"c", "d", "f"}}
	for i, p := range parts {
		var got []string
		for _, f := range p.Files {
			got = append(got, f.Path)
		}
		if len(got) != len(want[i]) {
			t.Fatalf("part %d: %v, want %v", i, got, want[i])
		}
		for j := range got {
			if got[j] != want[i][j] {
				t.Fatalf("part %d: %v, want %v", i, got, want[i])
			}
		}
		if p.Bytes != 10 && i == 0 || p.Rows != p.Bytes {
			t.Fatalf("part %d: %d bytes, %d rows", i, p.Bytes, p.Rows)
		}
	}
}

func TestCutCoversTheFileOnce(t *testing.T) {
	big := &catalog.File{Path: "big", Size: 1000, Rows: 1003}
	small := &catalog.File{Path: "small", Size: 200, Rows: 5000}
	odd := &catalog.File{Path: "odd", Size: 5000, Rows: 5000, Inexact: true}
	out := cut([]*catalog.File{big, small, odd}, 300, 100)
	// big: 4 pieces of ~250 bytes (1000/300 rounded up), rows 0..1002
	// without gap or overlap; small fits; odd's count is not trusted.
	if len(out) != 6 || out[4] != small || out[5] != odd {
		t.Fatalf("%d pieces: %+v", len(out), out)
	}
	next := int64(0)
	var w int64
	for _, p := range out[:4] {
		if p.Range == nil || p.Range.Start != next || p.Size != big.Size || p.Rows != big.Rows {
			t.Fatalf("piece %+v after row %d", p, next)
		}
		next = p.Range.End
		w += weight(p)
	}
	if next != big.Rows || w < 995 || w > 1000 {
		t.Fatalf("pieces end at %d, weigh %d", next, w)
	}
	// Pieces hold at least minRows rows: 1003 rows at 400 make 2.
	if got := cut([]*catalog.File{big}, 300, 400); len(got) != 2 {
		t.Fatalf("%d pieces of at least 400 rows", len(got))
	}
	// A file with a column of its own named file_row_number (DuckDB's
	// virtual column pieces are cut by) is read whole.
	named := &catalog.File{Path: "named", Size: 1000, Rows: 1003, Columns: []connectors.Column{{Name: "id", Type: "BIGINT"}, {Name: "File_Row_Number", Type: "BIGINT"}}}
	if got := cut([]*catalog.File{named}, 300, 100); len(got) != 1 || got[0] != named {
		t.Fatalf("%d pieces of a file with a file_row_number column", len(got))
	}
}
