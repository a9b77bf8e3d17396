//go:build duckdb_arrow

package engine

import (
	"context"
	"fmt"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/internal/duck"
)

// InstallExtension downloads extension name into dir with DuckDB's INSTALL,
// in a DuckDB of its own; the internet must be reachable.
func InstallExtension(ctx context.Context, dir, name string) (string, error) {
	db, err := duck.Open(map[string]string{"autoinstall_known_extensions": "false"})
	if err != nil {
		return "", err
	}
	defer db.Close()
	c, err := db.Connect()
	if err != nil {
		return "", err
	}
	defer c.Close()
	defer c.InterruptOnDone(ctx)()
	path, err := c.Install(dir, name)
	if err != nil {
		return "", fault.Errorf(fault.Unavailable, "%w (without the internet: pip install duckdb-extension-%s==%s, then --extension-dir <its site-packages>)",
			err, name, DuckDBVersion()[1:])
	}
	return path, nil
}

// openStorage gives DuckDB what the catalog reads object storage with: the
// httpfs extension and the credentials, as a temporary secret that SQL
// cannot read (the gate refuses duckdb_secrets() and which_secret, and
// configuration is locked in a sandbox).
func (e *Engine) openStorage(ctx context.Context) error {
	s3, httpfs := e.cat.Storage()
	if s3 == nil {
		return nil
	}
	if err := e.all[0].Load(httpfs); err != nil {
		return err
	}
	secret, err := s3.DuckDBSecret(ctx)
	if err != nil {
		return err
	}
	if err := e.all[0].Exec(secret); err != nil {
		return fault.Errorf(fault.IO, "object storage: DuckDB refused the credentials' settings") // never the statement: it holds the secret
	}
	// See prime: DuckDB keeps each object's metadata and checks its reads
	// against the ETag.
	if err := e.all[0].Exec(s3.DuckDBSettings() + "; SET GLOBAL enable_http_metadata_cache = true"); err != nil {
		return fmt.Errorf("object storage: %w", err)
	}
	e.primed, e.stale = primed{}, map[string]bool{}
	return nil
}
