package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// What the catalog learnt of each file is kept on disk, one file per table
// definition, so that a restart over many files reads statistics instead of
// reopening every footer: a file whose path, size and modification time are
// unchanged is taken from there.

// statsVersion changes whenever the persisted form or what Inspect computes
// does; older files are then ignored. 2: File.Inexact; Parquet row counts
// from row groups, min/max only where trusted. 3: File.Read (a CSV file's
// dialect). 4: GeoJSON geometry is GEOMETRY('OGC:CRS84'). 5: File.BBoxColumn
// (GeoParquet's bounding boxes).
const statsVersion = 5

type persisted struct {
	Version int
	Format  string
	Files   []*File
}

// statsKey identifies a table definition: its root, format and options.
func statsKey(d tableDef, format string) string {
	keys := make([]string, 0, len(d.options))
	for k := range d.options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s", d.root, format, d.partitioning)
	for _, k := range keys {
		fmt.Fprintf(&b, "\x00%s=%s", k, d.options[k])
	}
	for _, c := range d.columns {
		fmt.Fprintf(&b, "\x00%s %s", c.Name, c.Type)
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:16])
}

func (c *Catalog) statsPath(key string) string {
	return filepath.Join(c.opts.CacheDir, "stats", key+".gob")
}

// loadStats reads a table's persisted files; nil when there are none or they
// are unusable.
func (c *Catalog) loadStats(key, format string) map[string]*File {
	data, err := os.ReadFile(c.statsPath(key))
	if err != nil {
		return nil
	}
	var p persisted
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&p); err != nil || p.Version != statsVersion || p.Format != format {
		c.log.Debug("persisted statistics ignored", "path", c.statsPath(key), "err", err)
		return nil
	}
	m := make(map[string]*File, len(p.Files))
	for _, f := range p.Files {
		m[f.Path] = f
	}
	return m
}

// saveStats writes a table's files atomically (temporary name, rename).
func (c *Catalog) saveStats(key string, t *Table) error {
	path := c.statsPath(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(persisted{Version: statsVersion, Format: t.Format, Files: t.Files}); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".stats-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
