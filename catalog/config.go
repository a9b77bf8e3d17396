package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the catalog part of qry.yaml.
//
//	tables:
//	  - name: trips
//	    path: data/trips        # file or directory, relative to qry.yaml
//	    format: parquet         # parquet | csv | geojson; default: from extensions
//	    partitioning: hive      # hive (default: used when paths have key=value dirs) | none
//	    options:                # format options (csv: header, delim, quote, ...)
//	      header: "true"
//	    columns:                # csv only: explicit schema, in file order
//	      - {name: id, type: BIGINT}
//	data:                       # directories whose entries each become a table
//	  - more/
type Config struct {
	Tables []TableConfig `yaml:"tables"`
	Data   []string      `yaml:"data"`
}

// TableConfig declares one table.
type TableConfig struct {
	Name         string            `yaml:"name"`
	Path         string            `yaml:"path"`
	Format       string            `yaml:"format"`
	Partitioning string            `yaml:"partitioning"`
	Options      map[string]string `yaml:"options"`
	Columns      []ColumnConfig    `yaml:"columns"`
}

// ColumnConfig is one column of an explicit schema.
type ColumnConfig struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
}

// LoadConfig reads a qry.yaml. Relative paths are made relative to the
// file's directory. Unknown keys are errors, reported with their line.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.Resolve(filepath.Dir(path))
	return cfg, nil
}

// ParseConfig parses qry.yaml text and checks it. Unknown keys are errors
// naming their line.
func ParseConfig(data []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if errs := cfg.Check(); len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrConfig, errs[0])
	}
	return &cfg, nil
}

// ConfigError is a problem with one table's declaration.
type ConfigError struct {
	Index int    // in Tables
	Key   string // the key at fault, "" for the whole entry
	Msg   string
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("tables[%d]: %s", e.Index, e.Msg)
	}
	return fmt.Sprintf("tables[%d].%s: %s", e.Index, e.Key, e.Msg)
}

// Check returns every problem of the table declarations (as *ConfigError).
func (c *Config) Check() []error {
	var errs []error
	bad := func(i int, key, format string, args ...any) {
		errs = append(errs, &ConfigError{Index: i, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for i, t := range c.Tables {
		switch {
		case t.Name == "":
			bad(i, "", "name is missing")
		case seen[strings.ToLower(t.Name)]:
			bad(i, "name", "table %s is declared twice", t.Name)
		}
		seen[strings.ToLower(t.Name)] = true
		if t.Path == "" {
			bad(i, "", "path is missing")
		}
		switch t.Format {
		case "", "parquet", "csv", "geojson":
		default:
			bad(i, "format", "%q is not parquet, csv or geojson", t.Format)
		}
		switch t.Partitioning {
		case "", "hive", "none":
		default:
			bad(i, "partitioning", "%q is not hive or none", t.Partitioning)
		}
		for _, col := range t.Columns {
			if col.Name == "" || col.Type == "" {
				bad(i, "columns", "a column needs name and type")
			}
		}
	}
	return errs
}

// Resolve makes relative table and data paths relative to dir (the
// directory of the file that declared them).
func (c *Config) Resolve(dir string) {
	for i := range c.Tables {
		if !filepath.IsAbs(c.Tables[i].Path) {
			c.Tables[i].Path = filepath.Join(dir, c.Tables[i].Path)
		}
	}
	for i := range c.Data {
		if !filepath.IsAbs(c.Data[i]) {
			c.Data[i] = filepath.Join(dir, c.Data[i])
		}
	}
}
