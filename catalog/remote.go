package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/connectors/csv"
	"github.com/qry-dev/qry/connectors/gdal"
	"github.com/qry-dev/qry/connectors/geojson"
	"github.com/qry-dev/qry/storage"
)

// remoteRoots are the data roots and table paths on object storage.
func (c *Catalog) remoteRoots() []string {
	var out []string
	for _, r := range c.Roots() {
		if storage.IsRemote(r) {
			out = append(out, r)
		}
	}
	return out
}

// openStorage readies object storage when a root is on it: the S3 client
// for listing and reading, and DuckDB's httpfs extension with the same
// credentials in the indexing database.
func (c *Catalog) openStorage(ctx context.Context) error {
	if len(c.remoteRoots()) == 0 {
		return nil
	}
	s3, err := storage.OpenS3(ctx, c.opts.S3)
	if err != nil {
		return err
	}
	var version string
	if err := c.db.QueryRowContext(ctx, "SELECT library_version FROM pragma_version()").Scan(&version); err != nil {
		return fmt.Errorf("object storage: %w", err)
	}
	ext, err := connectors.FindExtension(c.opts.ExtensionDir, "httpfs", version)
	if err != nil {
		return fmt.Errorf("object storage needs DuckDB's httpfs extension: %w", err)
	}
	if _, err := c.db.ExecContext(ctx, "LOAD '"+strings.ReplaceAll(ext, "'", "''")+"'"); err != nil {
		return fmt.Errorf("object storage: load %s: %w", ext, err)
	}
	secret, err := s3.DuckDBSecret(ctx)
	if err != nil {
		return err
	}
	if _, err := c.db.ExecContext(ctx, secret); err != nil {
		return fmt.Errorf("%w: DuckDB refused the credentials' settings", storage.ErrStorage) // never the statement: it holds the secret
	}
	if _, err := c.db.ExecContext(ctx, s3.DuckDBSettings()); err != nil {
		return fmt.Errorf("object storage: %w", err)
	}
	c.s3, c.httpfs = s3, ext
	if g, ok := c.conns["geojson"].(*geojson.Connector); ok {
		g.Objects = s3
	}
	c.conns["csv"] = csv.Connector{Objects: s3}
	return nil
}

// Storage is the object store the catalog's remote roots are on, and the
// httpfs extension that reads them; nil and "" when every root is local.
func (c *Catalog) Storage() (*storage.S3, string) { return c.s3, c.httpfs }

// remoteEntries turns a data root on object storage into table
// definitions, as a local directory's: each top-level "folder" is a table,
// and each top-level object of a known format.
func (c *Catalog) remoteEntries(ctx context.Context, dir string) ([]tableDef, error) {
	objs, err := c.s3.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	seen := map[string]bool{}
	var defs []tableDef
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Path, prefix)
		top, rest, isDir := strings.Cut(rel, "/")
		if top == "" || hidden(top) || seen[top] {
			continue
		}
		if isDir && rest != "" {
			seen[top] = true
			defs = append(defs, tableDef{name: top, root: prefix + top + "/"})
			continue
		}
		format, ext := c.formatOf(top)
		if format == "" {
			continue
		}
		seen[top] = true
		defs = append(defs, tableDef{name: top[:len(top)-len(ext)], root: o.Path})
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("data directory %s: %w", dir, ErrNotFound)
	}
	return defs, nil
}

// listRemote is list for a table on object storage.
func (c *Catalog) listRemote(ctx context.Context, d tableDef) ([]found, string, []Problem, error) {
	if !strings.HasSuffix(d.root, "/") {
		// One object.
		o, err := c.s3.Stat(ctx, d.root)
		if err != nil {
			return nil, "", nil, fmt.Errorf("table %s: %w", d.name, err)
		}
		format := d.format
		if format == "" {
			format, _ = c.formatOf(d.root)
		}
		if format == "" {
			return nil, "", nil, fmt.Errorf("table %s: %s: unknown file format (give format: in qry.yaml)", d.name, d.root)
		}
		return []found{{path: o.Path, size: o.Size, mtime: o.ModTime, etag: o.ETag}}, format, nil, nil
	}
	objs, err := c.s3.List(ctx, d.root)
	if err != nil {
		return nil, "", nil, fmt.Errorf("table %s: %w", d.name, err)
	}
	counts := map[string]int{}
	var all []found
	var formats []string
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Path, d.root)
		segs := strings.Split(rel, "/")
		if hiddenPath(segs) {
			continue
		}
		f, _ := c.formatOf(segs[len(segs)-1])
		if f == "" || c.isRetired(o.Path) {
			continue
		}
		counts[f]++
		fd := found{path: o.Path, size: o.Size, mtime: o.ModTime, etag: o.ETag}
		if dirs := segs[:len(segs)-1]; len(dirs) > 0 {
			d.partition(&fd, dirs)
		}
		all = append(all, fd)
		formats = append(formats, f)
	}
	files, format, err := d.pick(d.format, all, formats, counts)
	return files, format, nil, err
}

// hiddenPath reports whether any segment of a relative key is hidden (its
// name starts with . or _), as a hidden folder is skipped locally.
func hiddenPath(segs []string) bool {
	for _, s := range segs {
		if hidden(s) {
			return true
		}
	}
	return false
}

// NameObjects words a message about objects as the user knows them: the
// HTTP URLs DuckDB's httpfs names objects by become s3://bucket/key, and
// the table of the first object named leads ("table trips: ...").
func (c *Catalog) NameObjects(msg string) string {
	if c.s3 == nil {
		return msg
	}
	msg = c.s3.Unmap(msg)
	for _, t := range c.Snapshot().Tables {
		for _, f := range t.Files {
			if storage.IsRemote(f.Path) && strings.Contains(msg, f.Path) {
				return "table " + t.Name + ": " + msg
			}
		}
	}
	return msg
}

// loadSpatial loads DuckDB's spatial extension into the indexing database
// when --extension-dir has it: GeoPackage, Shapefile, FlatGeobuf, KML and
// GPX files are then read (see connectors/gdal); without it they are left
// out, each with a line that says how to get it.
func (c *Catalog) loadSpatial(ctx context.Context) {
	var version string
	if err := c.db.QueryRowContext(ctx, "SELECT library_version FROM pragma_version()").Scan(&version); err != nil {
		return
	}
	ext, err := connectors.FindExtension(c.opts.ExtensionDir, "spatial", version)
	if err != nil {
		return
	}
	if _, err := c.db.ExecContext(ctx, "LOAD '"+strings.ReplaceAll(ext, "'", "''")+"'"); err != nil {
		c.log.Warn("spatial extension not loaded: GIS files are left out", "err", err)
		return
	}
	if g, ok := c.conns["gdal"].(*gdal.Connector); ok {
		g.Spatial = true
	}
}
