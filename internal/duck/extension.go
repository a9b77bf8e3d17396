//go:build duckdb_arrow

package duck

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/fault"
)

// ErrNoExtension is wrapped when an extension qry needs is not in the
// extension directory.
var ErrNoExtension = connectors.ErrNoExtension

// DefaultExtensionDir is DuckDB's own extension directory.
func DefaultExtensionDir() string { return connectors.DefaultExtensionDir() }

// FindExtension finds the build of extension name for this DuckDB under dir
// (see connectors.FindExtension).
func FindExtension(dir, name string) (string, error) {
	return connectors.FindExtension(dir, name, Version())
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
