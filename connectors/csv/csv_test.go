package csv_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/connectors/csv"
)

// FuzzInspect feeds arbitrary bytes to schema inference and statistics: any
// input gives a schema or an error naming the file, never a panic.
func FuzzInspect(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,x\n2,y\n",
		"id;when;v\n1;2024-01-01;1.5\n2;2024-01-02;\n",
		"a,b,c\n1,2\n3,4,5,6\n",
		"\"q,uoted\",b\n\"x\"\"y\",2\n",
		"",
		"\xff\xfe\x00a\n",
	} {
		f.Add([]byte(s))
	}
	db, err := connectors.OpenDB(1)
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.csv")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := csv.Connector{}.Inspect(context.Background(), db, path, nil)
		if err == nil && len(info.Columns) == 0 {
			t.Fatal("no error and no columns")
		}
	})
}

func TestParseColumns(t *testing.T) {
	cols, err := csv.ParseColumns("a BIGINT; b DECIMAL(10,2)")
	if err != nil || len(cols) != 2 || cols[1].Type != "DECIMAL(10,2)" {
		t.Fatalf("got %v, %v", cols, err)
	}
	if _, err := csv.ParseColumns("a"); err == nil {
		t.Fatal("a column without a type is an error")
	}
}
