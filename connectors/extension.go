package connectors

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/qry-dev/qry/fault"
)

// ErrNoExtension is wrapped when an extension qry needs is not in the
// extension directory.
var ErrNoExtension = fault.New(fault.Unavailable, "extension not found")

// DefaultExtensionDir is DuckDB's own extension directory
// (~/.duckdb/extensions), where its INSTALL puts extensions.
func DefaultExtensionDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".duckdb", "extensions")
}

// FindExtension finds the build of extension name for DuckDB version
// ("v1.5.5") under dir ("": DefaultExtensionDir), in the layouts DuckDB
// and its PyPI wheels use:
//
//	dir/v1.5.5/linux_amd64/name.duckdb_extension    DuckDB's INSTALL
//	dir/duckdb_extension_name/extensions/v1.5.5/name.duckdb_extension
//	                                                a wheel in site-packages
//	dir/extensions/v1.5.5/name.duckdb_extension     a wheel's package folder
//	dir/v1.5.5/name.duckdb_extension, dir/name.duckdb_extension
//
// An extension loads only into the DuckDB version it was built for, so
// only that version's folder counts.
func FindExtension(dir, name, version string) (string, error) {
	if dir == "" {
		dir = DefaultExtensionDir()
	}
	file := name + ".duckdb_extension"
	candidates := []string{
		filepath.Join(dir, version, runtime.GOOS+"_"+runtime.GOARCH, file),
		filepath.Join(dir, "duckdb_extension_"+name, "extensions", version, file),
		filepath.Join(dir, "extensions", version, file),
		filepath.Join(dir, version, file),
		filepath.Join(dir, file),
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: %s (DuckDB %s) is not in %s: run `qry extensions install %s` where the internet is reachable, "+
		"or `pip install duckdb-extension-%s==%s` and give its site-packages folder as --extension-dir",
		ErrNoExtension, name, version, dir, name, name, strings.TrimPrefix(version, "v"))
}
