package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/connectors/parquet"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
)

// TestParquetCorpus runs the Parquet differential (checkParquetFile) over
// every .parquet file under the directory $QRY_PARQUET_CORPUS names, each
// file a table of its own in an engine of its own, and logs a summary:
// files, compared, agreed, DuckDB refused, qry refused, qry differs. It
// fails when qry's answer differs from DuckDB's. Skipped when the variable
// is unset; testdata/parquet-corpus/run.sh runs it.
func TestParquetCorpus(t *testing.T) {
	root := os.Getenv("QRY_PARQUET_CORPUS")
	if root == "" {
		t.Skip("QRY_PARQUET_CORPUS names a directory of Parquet files to compare with DuckDB")
	}
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(strings.ToLower(p), ".parquet") {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	var sum struct {
		files, compared, agreed, refRefused, qryRefused, differs int
		queries, fromStats, pruned, batched                      int
	}
	var notes []string
	for _, p := range paths {
		sum.files++
		rel, _ := filepath.Rel(root, p)
		fc, batched, refErr, qryErr := corpusFile(t, p)
		switch {
		case refErr != nil:
			sum.refRefused++
			notes = append(notes, fmt.Sprintf("DuckDB refused %s: %s", rel, oneLine(refErr)))
		case qryErr != nil:
			sum.qryRefused++
			notes = append(notes, fmt.Sprintf("qry refused %s: %s", rel, oneLine(qryErr)))
		default:
			sum.compared++
			sum.queries += fc.queries
			sum.fromStats += fc.fromStats
			sum.pruned += fc.pruned
			if batched {
				sum.batched++
			}
			if len(fc.diffs) == 0 {
				sum.agreed++
				break
			}
			sum.differs++
			for _, d := range fc.diffs {
				t.Errorf("%s: %s", rel, d)
			}
		}
	}
	for _, n := range notes {
		t.Log(n)
	}
	t.Logf("%s\n| files | compared | agreed | DuckDB refused | qry refused | qry differs |\n|---|---|---|---|---|---|\n| %d | %d | %d | %d | %d | %d |\n%d queries compared, %d answered from statistics, %d read no file; %d files inspected in a batch too",
		root, sum.files, sum.compared, sum.agreed, sum.refRefused, sum.qryRefused, sum.differs, sum.queries, sum.fromStats, sum.pruned, sum.batched)
}

// corpusFile runs the differential over one file, through a catalog and
// engine of its own (a file that breaks DuckDB's database breaks only its
// own), and compares the file's batch inspection with its own (batched:
// the batch took it). refErr: DuckDB cannot read the file; qryErr: the
// catalog left it out (or the engine did not open).
func corpusFile(t *testing.T, path string) (fc fileCheck, batched bool, refErr, qryErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ref, err := sql.Open("duckdb", "?threads=2")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	dir, err := os.MkdirTemp("", "qry-corpus-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "data", "t.parquet")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(abs, link); err != nil {
		t.Fatal(err)
	}
	// DuckDB reads every value (as text: database/sql scans not every type).
	if _, err := fixture.TryRows(ref, "SELECT count(*), max(length(t::VARCHAR)) FROM read_parquet("+quote(link)+", hive_partitioning=false) t"); err != nil {
		return fc, false, err, nil
	}
	cat, err := catalog.Open(ctx, catalog.Options{Data: []string{filepath.Dir(link)}, CacheDir: filepath.Join(dir, "cache"), Threads: 1})
	if err != nil {
		return fc, false, nil, err
	}
	defer cat.Close()
	snap := cat.Snapshot()
	if _, ok := snap.Table("t"); !ok {
		if len(snap.Problems) > 0 {
			return fc, false, nil, snap.Problems[0]
		}
		return fc, false, nil, fmt.Errorf("no table")
	}
	e, err := engine.Open(ctx, cat, engine.Options{Threads: 2, MaxConns: 2})
	if err != nil {
		return fc, false, nil, err
	}
	defer e.Close()
	fc, err = checkParquetFile(ctx, e, ref, "t", link)
	if err != nil {
		return fc, false, err, nil
	}
	tb, _ := snap.Table("t")
	d, batched := batchDiffers(ctx, t, link, tb.Files[0])
	if d != "" {
		fc.diffs = append(fc.diffs, d)
	}
	return fc, batched, nil, nil
}

// batchDiffers inspects the file twice in one batch (two links to it) and
// tells how that differs from what the catalog learnt inspecting it alone;
// "" when it does not. batched is false when the batch refused the file
// (the catalog then inspects one by one).
func batchDiffers(ctx context.Context, t *testing.T, link string, f *catalog.File) (diff string, batched bool) {
	db, err := connectors.OpenDB(1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	twin := strings.TrimSuffix(link, ".parquet") + "_twin.parquet"
	target, err := os.Readlink(link)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, twin); err != nil {
		t.Fatal(err)
	}
	infos, err := parquet.Connector{}.InspectBatch(ctx, db, []string{link, twin}, nil)
	if err != nil {
		return "", false
	}
	for _, info := range infos {
		if info.Rows != f.Rows || info.Inexact != f.Inexact || !reflect.DeepEqual(info.Columns, f.Columns) || !reflect.DeepEqual(info.Stats, f.Stats) {
			return fmt.Sprintf("batch inspection: columns %v rows %d inexact %t stats %v; alone: columns %v rows %d inexact %t stats %v",
				info.Columns, info.Rows, info.Inexact, info.Stats, f.Columns, f.Rows, f.Inexact, f.Stats), true
		}
	}
	return "", true
}

func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
