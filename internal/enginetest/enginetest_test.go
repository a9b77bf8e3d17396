package enginetest_test

import (
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/goleak"

	"github.com/qry-dev/qry/internal/enginetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/resolver/dns.(*dnsResolver).watcher"))
}

// TestQueries runs testdata/queries/*.test in-process, over Flight SQL and
// over HTTP.
func TestQueries(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	enginetest.Run(t, filepath.Join(filepath.Dir(file), "..", "..", "testdata", "queries"))
}

// TestPartsMakeTheWhole is the differential test of results read in parts
// over the suite's queries (see enginetest.RunParts). It fails if too few
// of them were split for the comparison to mean anything.
func TestPartsMakeTheWhole(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	st := enginetest.RunParts(t, filepath.Join(filepath.Dir(file), "..", "..", "testdata", "queries"))
	t.Logf("%d queries; %d splits compared, %d with parts of several files, %d with pieces of files", st.Queries, st.Split, st.MultiFile, st.Pieces)
	if st.Split < 30 || st.MultiFile < 10 || st.Pieces < 10 {
		t.Errorf("only %d splits (%d with parts of several files, %d with pieces) among %d queries", st.Split, st.MultiFile, st.Pieces, st.Queries)
	}
}
