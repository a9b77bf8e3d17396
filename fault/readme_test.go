package fault

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the table of kinds in README.md")

const (
	readme     = "../README.md"
	tableStart = "<!-- kinds: made from package fault's table; go test ./fault -update rewrites it -->\n"
	tableEnd   = "<!-- end of kinds -->\n"
)

// kindsTable is the README's table of kinds, made from the code.
func kindsTable() string {
	var b strings.Builder
	b.WriteString("| kind | shown as | gRPC code | HTTP status | exit code |\n|---|---|---|---|---|\n")
	for _, k := range Kinds() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d | %d |\n", k, k.Label(), k.GRPC(), k.HTTP(), k.Exit())
	}
	return b.String()
}

// The README documents the table the code has.
func TestReadmeKinds(t *testing.T) {
	data, err := os.ReadFile(readme)
	require.NoError(t, err)
	text := string(data)
	start := strings.Index(text, tableStart)
	end := strings.Index(text, tableEnd)
	require.True(t, start >= 0 && end > start, "README.md holds the markers %q and %q", tableStart, tableEnd)
	start += len(tableStart)
	if *update {
		text = text[:start] + kindsTable() + text[end:]
		require.NoError(t, os.WriteFile(readme, []byte(text), 0o644))
		return
	}
	require.Equal(t, kindsTable(), text[start:end], "README.md's table of kinds is not the code's: go test ./fault -update")
	// Every exit code is explained, in the table before the kinds'.
	for _, code := range []int{ExitFailed, ExitUsage, ExitRetry, ExitForbidden, ExitCanceled} {
		require.Contains(t, text[:start], fmt.Sprintf("\n| %d | ", code))
	}
}
