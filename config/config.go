package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/fault"
)

// File is a parsed qry.yaml.
type File struct {
	// Path is where the file was read from.
	Path string
	// Catalog holds the tables and data directories, with relative paths
	// made relative to the file's directory.
	Catalog *catalog.Config
	// Settings are the server, limit and log settings the file gives, in
	// the file's order.
	Settings []Setting
}

// Setting is one scalar setting of the file and the flag it stands for.
type Setting struct {
	Key   string // dotted path in the file: "limits.query_timeout"
	Flag  string // the command-line flag: "query-timeout"
	Value string // as written (a path made relative to the file's directory)
	Line  int
}

// Error is a problem at a line of a file (Line 0: the whole file).
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errors are all the problems of a file; errors.Is(err, ErrInvalid) holds.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Is makes every Errors an ErrInvalid.
func (es Errors) Is(target error) bool { return target == ErrInvalid }

// ErrInvalid is what errors.Is finds in the error of a file that does not
// parse or check.
var ErrInvalid = fault.New(fault.Invalid, "invalid configuration")

// scalar is a single value with the line it is on.
type scalar struct {
	value string
	line  int
	set   bool
}

// UnmarshalYAML keeps the value and its line (check made sure it is one
// value).
func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	s.value, s.line, s.set = n.Value, n.Line, true
	return nil
}

// doc is the file's layout. A scalar's flag tag names its flag; path marks
// values that are file names (relative to the file's directory).
type doc struct {
	Tables   []catalog.TableConfig `yaml:"tables"`
	Data     []string              `yaml:"data"`
	CacheDir scalar                `yaml:"cache_dir" flag:"cache-dir" path:"1"`
	ExtDir   scalar                `yaml:"extension_dir" flag:"extension-dir" path:"1"`
	// Storage says where s3:// roots are; credentials come from the AWS
	// conventions (environment, shared files, profile), never from here.
	Storage struct {
		Endpoint scalar `yaml:"endpoint" flag:"s3-endpoint"`
		Region   scalar `yaml:"region" flag:"s3-region"`
		Profile  scalar `yaml:"profile" flag:"s3-profile"`
		Timeout  scalar `yaml:"timeout" flag:"s3-timeout"`
	} `yaml:"storage"`
	Server struct {
		Listen    scalar `yaml:"listen" flag:"listen"`
		HTTP      scalar `yaml:"http" flag:"http"`
		Refresh   scalar `yaml:"refresh" flag:"refresh"`
		BatchRows scalar `yaml:"batch_rows" flag:"batch-rows"`
		Tokens    scalar `yaml:"tokens" flag:"tokens" path:"1"`
		Sandbox   scalar `yaml:"sandbox" flag:"sandbox"`
		// Replicas: the secret their tickets share and where they are.
		TicketSecret     scalar `yaml:"ticket_secret" flag:"ticket-secret"`
		TicketSecretFile scalar `yaml:"ticket_secret_file" flag:"ticket-secret-file" path:"1"`
		Advertise        scalar `yaml:"advertise" flag:"advertise"`
		AdvertiseService scalar `yaml:"advertise_service" flag:"advertise-service"`
		TLS              struct {
			Cert     scalar `yaml:"cert" flag:"tls-cert" path:"1"`
			Key      scalar `yaml:"key" flag:"tls-key" path:"1"`
			ClientCA scalar `yaml:"client_ca" flag:"tls-client-ca" path:"1"`
		} `yaml:"tls"`
	} `yaml:"server"`
	Limits struct {
		QueryTimeout   scalar `yaml:"query_timeout" flag:"query-timeout"`
		MaxConcurrent  scalar `yaml:"max_concurrent" flag:"max-concurrent"`
		MaxQueue       scalar `yaml:"max_queue" flag:"max-queue"`
		MemoryLimit    scalar `yaml:"memory_limit" flag:"memory-limit"`
		Threads        scalar `yaml:"threads" flag:"threads"`
		PartitionBytes scalar `yaml:"partition_bytes" flag:"partition-bytes"`
		MaxPartitions  scalar `yaml:"max_partitions" flag:"max-partitions"`
		MaxTempSize    scalar `yaml:"max_temp_size" flag:"max-temp-size"`
		MaxSQLBytes    scalar `yaml:"max_sql_bytes" flag:"max-sql-bytes"`
		MaxResultRows  scalar `yaml:"max_result_rows" flag:"max-result-rows"`
		MaxResultBytes scalar `yaml:"max_result_bytes" flag:"max-result-bytes"`
		TicketTTL      scalar `yaml:"ticket_ttl" flag:"ticket-ttl"`
		ResultCache    scalar `yaml:"result_cache" flag:"result-cache"`
	} `yaml:"limits"`
	// Accelerate keeps copies of tables in DuckDB's native storage
	// (qry.yaml's accelerate: per table comes first).
	Accelerate struct {
		Tables scalar `yaml:"tables" flag:"accelerate"`
		Mode   scalar `yaml:"mode" flag:"accelerate-mode"`
		Memory scalar `yaml:"memory" flag:"accelerate-memory"`
	} `yaml:"accelerate"`
	Log struct {
		Format scalar `yaml:"format" flag:"log-format"`
		Level  scalar `yaml:"level" flag:"log-level"`
		SQL    scalar `yaml:"sql" flag:"log-sql"`
	} `yaml:"log"`
}

// Load reads and parses a qry.yaml.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: err.Error()}}
	}
	return Parse(path, data)
}

// Parse parses qry.yaml text read from path. Its error is an Errors with
// every problem found and its line.
func Parse(path string, data []byte) (*File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		// The parser's words name the line ("yaml: line 2: did not find
		// expected node content").
		return nil, Errors{{File: path, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
	}
	var d doc
	if len(root.Content) > 0 {
		var errs Errors
		for _, p := range check(root.Content[0], reflect.TypeOf(d), "") {
			errs = append(errs, &Error{File: path, Line: p.line, Msg: p.msg})
		}
		if len(errs) > 0 {
			return nil, errs
		}
		if err := root.Decode(&d); err != nil {
			return nil, Errors{{File: path, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}}
		}
	}
	var errs Errors
	cat := &catalog.Config{Tables: d.Tables, Data: d.Data}
	for _, e := range cat.Check() {
		var ce *catalog.ConfigError
		line := 0
		if errors.As(e, &ce) {
			line = lineOf(&root, "tables", ce.Index, ce.Key)
		}
		errs = append(errs, &Error{File: path, Line: line, Msg: e.Error()})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	dir := filepath.Dir(path)
	cat.Resolve(dir)
	f := &File{Path: path, Catalog: cat}
	walk(reflect.ValueOf(&d).Elem(), "", func(key string, sf reflect.StructField, s *scalar) {
		if !s.set {
			return
		}
		v := s.value
		if sf.Tag.Get("path") != "" && v != "" && !filepath.IsAbs(v) {
			v = filepath.Join(dir, v)
		}
		f.Settings = append(f.Settings, Setting{Key: key, Flag: sf.Tag.Get("flag"), Value: v, Line: s.line})
	})
	return f, nil
}

// problem is what check found at a line.
type problem struct {
	line int
	msg  string
}

// check reports, each at its line, what of the YAML node n does not fit
// the Go type t: a key t does not have, a key given twice, a list or map
// where a value goes, a value of another type. key is n's dotted path.
func check(n *yaml.Node, t reflect.Type, key string) []problem {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // nothing given: the zero value
	}
	where := func(what string) string {
		if key == "" {
			return what
		}
		return key + ": " + what
	}
	switch {
	case t == reflect.TypeOf(scalar{}) || t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.Map && t.Kind() != reflect.Pointer:
		if n.Kind != yaml.ScalarNode {
			return []problem{{n.Line, where("want a single value, not a list or map")}}
		}
		if t != reflect.TypeOf(scalar{}) {
			if err := n.Decode(reflect.New(t).Interface()); err != nil {
				return []problem{{n.Line, where(fmt.Sprintf("%q is not a %s", n.Value, t.Kind()))}}
			}
		}
		return nil
	case t.Kind() == reflect.Pointer:
		return check(n, t.Elem(), key)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return []problem{{n.Line, where("want a list")}}
		}
		var out []problem
		for i, item := range n.Content {
			out = append(out, check(item, t.Elem(), fmt.Sprintf("%s[%d]", key, i))...)
		}
		return out
	}
	// A map or a struct: keys and their values.
	if n.Kind != yaml.MappingNode {
		return []problem{{n.Line, where("want keys and values")}}
	}
	var out []problem
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := k.Value
		if key != "" {
			sub = key + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			out = append(out, problem{k.Line, fmt.Sprintf("key %q given twice (first at line %d)", k.Value, first)})
			continue
		}
		seen[k.Value] = k.Line
		if t.Kind() == reflect.Map {
			out = append(out, check(v, t.Elem(), sub)...)
			continue
		}
		f, ok := fieldByKey(t, k.Value)
		if !ok {
			out = append(out, problem{k.Line, fmt.Sprintf("unknown key %q", k.Value)})
			continue
		}
		out = append(out, check(v, f.Type, sub)...)
	}
	return out
}

// fieldByKey is the field of struct type t that the YAML key name sets.
func fieldByKey(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag == name && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// walk calls fn for every scalar field of v, depth first, in field order.
func walk(v reflect.Value, prefix string, fn func(key string, sf reflect.StructField, s *scalar)) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		fv := v.Field(i)
		switch {
		case fv.Type() == reflect.TypeOf(scalar{}):
			fn(key, sf, fv.Addr().Interface().(*scalar))
		case fv.Kind() == reflect.Struct:
			walk(fv, key, fn)
		}
	}
}

// Keys lists every setting key with its flag, for documentation and for
// applying QRY_* variables.
func Keys() []Setting {
	var out []Setting
	var d doc
	walk(reflect.ValueOf(&d).Elem(), "", func(key string, sf reflect.StructField, _ *scalar) {
		out = append(out, Setting{Key: key, Flag: sf.Tag.Get("flag")})
	})
	return out
}

// lineOf finds the line of tables[i].key (or of tables[i] when key is "")
// in a parsed document; 0 if it is not there.
func lineOf(root *yaml.Node, list string, i int, key string) int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return 0
	}
	m := root.Content[0]
	for k := 0; k+1 < len(m.Content); k += 2 {
		if m.Content[k].Value != list || m.Content[k+1].Kind != yaml.SequenceNode {
			continue
		}
		seq := m.Content[k+1]
		if i >= len(seq.Content) {
			return seq.Line
		}
		item := seq.Content[i]
		if key != "" && item.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(item.Content); j += 2 {
				if item.Content[j].Value == key {
					return item.Content[j].Line
				}
			}
		}
		return item.Line
	}
	return 0
}
