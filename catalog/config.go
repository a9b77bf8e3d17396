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
	base := filepath.Dir(path)
	for i := range cfg.Tables {
		if !filepath.IsAbs(cfg.Tables[i].Path) {
			cfg.Tables[i].Path = filepath.Join(base, cfg.Tables[i].Path)
		}
	}
	for i := range cfg.Data {
		if !filepath.IsAbs(cfg.Data[i]) {
			cfg.Data[i] = filepath.Join(base, cfg.Data[i])
		}
	}
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
	seen := map[string]bool{}
	for i, t := range cfg.Tables {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("%w: tables[%d]: name is missing", ErrConfig, i)
		case t.Path == "":
			return nil, fmt.Errorf("%w: table %s: path is missing", ErrConfig, t.Name)
		case seen[strings.ToLower(t.Name)]:
			return nil, fmt.Errorf("%w: table %s is declared twice", ErrConfig, t.Name)
		}
		seen[strings.ToLower(t.Name)] = true
		switch t.Format {
		case "", "parquet", "csv", "geojson":
		default:
			return nil, fmt.Errorf("%w: table %s: format %q is not parquet, csv or geojson", ErrConfig, t.Name, t.Format)
		}
		switch t.Partitioning {
		case "", "hive", "none":
		default:
			return nil, fmt.Errorf("%w: table %s: partitioning %q is not hive or none", ErrConfig, t.Name, t.Partitioning)
		}
		for _, c := range t.Columns {
			if c.Name == "" || c.Type == "" {
				return nil, fmt.Errorf("%w: table %s: a column needs name and type", ErrConfig, t.Name)
			}
		}
	}
	return &cfg, nil
}
