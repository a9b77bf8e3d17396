//go:build duckdb_arrow

package duck

import (
	"errors"
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

// Platform is DuckDB's name for this platform ("linux_amd64").
func Platform() string { return runtime.GOOS + "_" + runtime.GOARCH }

// FindExtension finds the build of extension name for this DuckDB version
// under dir, in the layouts DuckDB and its PyPI wheels use:
//
//	dir/v1.5.5/linux_amd64/name.duckdb_extension    DuckDB's INSTALL
//	dir/duckdb_extension_name/extensions/v1.5.5/name.duckdb_extension
//	                                                a wheel in site-packages
//	dir/extensions/v1.5.5/name.duckdb_extension     a wheel's package folder
//	dir/v1.5.5/name.duckdb_extension, dir/name.duckdb_extension
//
// An extension loads only into the DuckDB version it was built for, so
// only this version's folder counts.
func FindExtension(dir, name string) (string, error) {
	v := Version()
	file := name + ".duckdb_extension"
	candidates := []string{
		filepath.Join(dir, v, Platform(), file),
		filepath.Join(dir, "duckdb_extension_"+name, "extensions", v, file),
		filepath.Join(dir, "extensions", v, file),
		filepath.Join(dir, v, file),
		filepath.Join(dir, file),
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: %s (DuckDB %s) is not in %s: run `qry extensions install %s` where the internet is reachable, "+
		"or `pip install duckdb-extension-%s==%s` and give its site-packages folder as --extension-dir",
		ErrNoExtension, name, v, dir, name, name, strings.TrimPrefix(v, "v"))
}

// Load loads the extension at path into the database c belongs to.
func (c *Conn) Load(path string) error {
	if err := c.Exec("LOAD " + quote(path)); err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return fmt.Errorf("load %s: %s", path, fe.Msg)
		}
		return fmt.Errorf("load %s: %w", path, err)
	}
	return nil
}

// Install downloads extension name into dir with DuckDB's INSTALL (the
// internet must be reachable) and returns where it went.
func (c *Conn) Install(dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := c.Exec("SET extension_directory = " + quote(dir) + "; INSTALL " + quoteIdent(name)); err != nil {
		return "", fmt.Errorf("install %s: %w", name, err)
	}
	return FindExtension(dir, name)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
