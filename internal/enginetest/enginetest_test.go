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
