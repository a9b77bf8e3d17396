package catalog

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qry-dev/qry/storage"
	"go.yaml.in/yaml/v3"
)

// Config is the catalog part of qry.yaml.
//
//	tables:
//	  - name: trips
//	    path: data/trips        # file or directory, relative to qry.yaml
//	    format: parquet         # parquet | csv | json | geojson; default: from extensions
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
	// Writable makes the table take writes (INSERT, bulk ingest): they
	// land in a live tier and are archived as Parquet into Path every
	// tick. Its columns must be declared.
	Writable *WritableConfig `yaml:"writable"`
	// Accelerate keeps a copy of the table in DuckDB's native storage,
	// in memory or on disk (in the cache directory), kept in step with
	// its files: memory | disk.
	Accelerate string `yaml:"accelerate"`
	// Source feeds a writable table from a log (see SourceConfig).
	Source *SourceConfig `yaml:"source"`
}

// SourceConfig declares where a writable table's rows come from besides
// its writers: a Kafka topic.
type SourceConfig struct {
	Kafka *KafkaConfig `yaml:"kafka"`
}

// KafkaConfig feeds a writable table from a Kafka topic, exactly once:
// the offsets read go into the table's write-ahead log with the rows. A
// message that does not parse or fit goes to the table <name>_rejected.
type KafkaConfig struct {
	Brokers []string `yaml:"brokers"`
	Topic   string   `yaml:"topic"`
	// Format of each message's value: json (one object; the default),
	// csv (one line, the declared columns in order), arrow (an Arrow
	// IPC stream) or avro (a record in Confluent's framing: a zero byte
	// and the writer's schema id, looked up in Registry).
	Format string `yaml:"format"`
	// Registry is the URL of a Confluent-compatible schema registry
	// (Confluent's, Apicurio's ccompat API, Redpanda's), with user and
	// password in it if it asks for them; format avro needs it.
	Registry string `yaml:"registry"`
	// Start is where a partition the table has never read starts:
	// earliest (the default) or latest.
	Start string `yaml:"start"`
}

// RejectedSuffix names a Kafka-fed table's table of rejected messages.
const RejectedSuffix = "_rejected"

// RejectedColumns are the columns of a rejected-messages table.
var RejectedColumns = []ColumnConfig{
	{Name: "topic", Type: "VARCHAR", NotNull: true},
	{Name: "partition", Type: "INTEGER", NotNull: true},
	{Name: "offset", Type: "BIGINT", NotNull: true},
	{Name: "timestamp", Type: "TIMESTAMP"},
	{Name: "key", Type: "BLOB"},
	{Name: "value", Type: "BLOB"},
	{Name: "error", Type: "VARCHAR", NotNull: true},
}

// withRejected is c with a writable table <name>_rejected (in the hidden
// directory _rejected of the table's path) for each table fed by Kafka.
func (c *Config) withRejected() *Config {
	if c == nil {
		return nil
	}
	out := *c
	out.Tables = slices.Clone(c.Tables)
	for _, t := range c.Tables {
		if t.Source == nil || t.Source.Kafka == nil || t.Writable == nil {
			continue
		}
		name := t.Name + RejectedSuffix
		if slices.ContainsFunc(out.Tables, func(x TableConfig) bool { return strings.EqualFold(x.Name, name) }) {
			continue
		}
		w := WritableConfig{Tick: t.Writable.Tick}
		if t.Writable.WAL != "" {
			w.WAL = filepath.Join(t.Writable.WAL, "_rejected")
		}
		p := filepath.Join(t.Path, "_rejected")
		if storage.IsRemote(t.Path) {
			p = strings.TrimSuffix(t.Path, "/") + "/_rejected/"
		}
		out.Tables = append(out.Tables, TableConfig{Name: name, Path: p, Columns: RejectedColumns, Writable: &w})
	}
	return &out
}

// WritableConfig declares how a writable table archives its writes.
type WritableConfig struct {
	// Tick is how often live rows are archived ("10s", the default).
	Tick string `yaml:"tick"`
	// PartitionBy are columns (declared, of a date, integer or text type)
	// whose values name hive directories of the archive: day=2024-05-01/.
	PartitionBy []string `yaml:"partition_by"`
	// TargetFileSize is the size compaction merges small archive files up
	// to ("64MB", the default).
	TargetFileSize string `yaml:"target_file_size"`
	// WAL is the local directory of the table's write-ahead log, tick
	// journal and writer lock: by default _qry_wal inside a local path.
	// A table on object storage must name one (its writes are durable
	// on local disk before a tick uploads them).
	WAL string `yaml:"wal"`
}

// ColumnConfig is one column of an explicit schema.
type ColumnConfig struct {
	Name    string `yaml:"name"`
	Type    string `yaml:"type"`
	NotNull bool   `yaml:"not_null"` // writable tables: writes with NULL here fail
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
		case "", "parquet", "csv", "json", "geojson", "gdal":
		default:
			bad(i, "format", "%q is not parquet, csv, json, geojson or gdal", t.Format)
		}
		switch t.Accelerate {
		case "", "memory", "disk":
		default:
			bad(i, "accelerate", "%q is not memory or disk", t.Accelerate)
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
		if t.Source != nil && t.Writable == nil {
			bad(i, "source", "a table with a source must be writable")
		}
		if w := t.Writable; w != nil {
			if t.Format != "" && t.Format != "parquet" {
				bad(i, "format", "a writable table archives as parquet, not %s", t.Format)
			}
			if len(t.Columns) == 0 {
				bad(i, "writable", "a writable table needs its columns declared")
			}
			if w.Tick != "" {
				if d, err := time.ParseDuration(w.Tick); err != nil || d <= 0 {
					bad(i, "writable", "tick %q is not a positive duration", w.Tick)
				}
			}
			if storage.IsRemote(t.Path) && w.WAL == "" {
				bad(i, "writable", "a writable table on object storage needs wal: a local directory for its write-ahead log")
			}
			if storage.IsRemote(w.WAL) {
				bad(i, "writable", "wal %q: the write-ahead log is on local disk, not object storage", w.WAL)
			}
			if w.TargetFileSize != "" {
				if _, err := ParseSize(w.TargetFileSize); err != nil {
					bad(i, "writable", "target_file_size: %v", err)
				}
			}
			if src := t.Source; src != nil {
				if k := src.Kafka; k == nil {
					bad(i, "source", "kafka is missing (the only source there is)")
				} else {
					if len(k.Brokers) == 0 {
						bad(i, "source.kafka", "brokers is missing")
					}
					if k.Topic == "" {
						bad(i, "source.kafka", "topic is missing")
					}
					switch k.Format {
					case "", "json", "csv", "arrow":
						if k.Registry != "" {
							bad(i, "source.kafka", "registry is for format avro, and the format is %q", cmp.Or(k.Format, "json"))
						}
					case "avro":
						if k.Registry == "" {
							bad(i, "source.kafka", "format avro needs registry: the URL of a schema registry")
						} else if u, err := url.Parse(k.Registry); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
							bad(i, "source.kafka", "registry %q is not an http(s) URL", k.Registry)
						}
					default:
						bad(i, "source.kafka", "format %q is not json, csv, arrow or avro", k.Format)
					}
					switch k.Start {
					case "", "earliest", "latest":
					default:
						bad(i, "source.kafka", "start %q is not earliest or latest", k.Start)
					}
					for _, x := range c.Tables {
						if strings.EqualFold(x.Name, t.Name+RejectedSuffix) {
							bad(i, "source", "table %s holds this table's rejected messages: it cannot be declared", x.Name)
						}
					}
				}
			}
			for _, k := range w.PartitionBy {
				idx := slices.IndexFunc(t.Columns, func(c ColumnConfig) bool { return strings.EqualFold(c.Name, k) })
				if idx < 0 {
					bad(i, "writable", "partition_by %q is not a declared column", k)
					continue
				}
				if !partitionable(t.Columns[idx].Type) {
					bad(i, "writable", "partition_by %q: %s is not a date, integer or text type", k, t.Columns[idx].Type)
				}
			}
		}
	}
	return errs
}

// partitionable types name hive directories safely.
func partitionable(typ string) bool {
	switch strings.ToUpper(typ) {
	case "DATE", "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "VARCHAR", "TEXT", "STRING":
		return true
	}
	return false
}

// ParseSize reads a byte size: 1048576, 512KB, 64MB, 1GB (powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size such as 64MB", s)
	}
	return n * mult, nil
}

// Resolve makes relative table and data paths relative to dir (the
// directory of the file that declared them).
func (c *Config) Resolve(dir string) {
	for i := range c.Tables {
		if !filepath.IsAbs(c.Tables[i].Path) && !storage.IsRemote(c.Tables[i].Path) {
			c.Tables[i].Path = filepath.Join(dir, c.Tables[i].Path)
		}
		if w := c.Tables[i].Writable; w != nil && w.WAL != "" && !filepath.IsAbs(w.WAL) && !storage.IsRemote(w.WAL) {
			w.WAL = filepath.Join(dir, w.WAL)
		}
	}
	for i := range c.Data {
		if !filepath.IsAbs(c.Data[i]) && !storage.IsRemote(c.Data[i]) {
			c.Data[i] = filepath.Join(dir, c.Data[i])
		}
	}
}
