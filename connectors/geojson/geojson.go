// Package geojson reads GeoJSON files (a FeatureCollection, a single Feature,
// or newline-delimited Features) without DuckDB's spatial extension.
//
// Inspect parses a file once with orb, infers typed columns from the features'
// properties, and writes a columnar sidecar (Parquet) into the cache
// directory: the properties, the geometry as WKB, and its bounding box as
// minx, miny, maxx, maxy. Scan reads the sidecars and turns the WKB into
// DuckDB's built-in GEOMETRY type, so `&&`, ST_AsText and friends work, and
// the spatial extension's ST_* functions work on it when it is loaded.
// A sidecar is keyed by the source's path, size and modification time, so it
// is rebuilt when the source changes and reused otherwise.
package geojson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	orbjson "github.com/paulmach/orb/geojson"

	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/storage"
)

// Column names every GeoJSON table has, besides its properties.
const (
	GeometryColumn = "geometry"
)

var bboxColumns = []string{"minx", "miny", "maxx", "maxy"}

// ErrMalformed is wrapped by every error about a malformed GeoJSON file.
var ErrMalformed = fault.New(fault.IO, "invalid GeoJSON")

// Connector is the GeoJSON connector. CacheDir holds the sidecars; it must be
// set.
type Connector struct {
	CacheDir string
	// Objects reads files on object storage (s3:// paths); nil when every
	// root is local.
	Objects Objects
}

// Objects is what the connector needs of an object store.
type Objects interface {
	Stat(ctx context.Context, path string) (storage.Object, error)
	Open(ctx context.Context, path string, n int64) (io.ReadCloser, error)
}

var _ connectors.Connector = (*Connector)(nil)

// Format implements connectors.Connector.
func (*Connector) Format() string { return "geojson" }

// Extensions implements connectors.Connector.
func (*Connector) Extensions() []string {
	return []string{".geojson", ".geojsonl", ".geojsons", ".geojson.ndjson"}
}

// Sidecar returns the path of the sidecar for a source file of that size and
// modification time (nanoseconds).
func (c *Connector) Sidecar(path string, size, mtime int64) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d", path, size, mtime))
	return filepath.Join(c.CacheDir, "geojson", hex.EncodeToString(h[:12])+".parquet")
}

// sidecarOf is the sidecar's path for a file (keyed by its size and
// modification time; an object's by its size and ETag), and how to read
// the file.
func (c *Connector) sidecarOf(ctx context.Context, path string) (string, func() ([]byte, error), error) {
	if !storage.IsRemote(path) {
		st, err := os.Stat(path)
		if err != nil {
			return "", nil, err
		}
		return c.Sidecar(path, st.Size(), st.ModTime().UnixNano()), func() ([]byte, error) { return os.ReadFile(path) }, nil
	}
	if c.Objects == nil {
		return "", nil, fmt.Errorf("%s: no object store configured", path)
	}
	o, err := c.Objects.Stat(ctx, path)
	if err != nil {
		return "", nil, err
	}
	h := sha256.Sum256([]byte(o.ETag))
	side := c.Sidecar(path, o.Size, int64(binary.BigEndian.Uint64(h[:8])))
	return side, func() ([]byte, error) {
		r, err := c.Objects.Open(ctx, path, 0)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	}, nil
}

// Inspect parses the file, writes its sidecar if missing, and returns its
// schema and statistics.
func (c *Connector) Inspect(ctx context.Context, db *sql.DB, path string, _ map[string]string) (connectors.FileInfo, error) {
	if c.CacheDir == "" {
		return connectors.FileInfo{}, errors.New("geojson: no cache directory")
	}
	side, read, err := c.sidecarOf(ctx, path)
	if err != nil {
		return connectors.FileInfo{}, err
	}
	if _, err := os.Stat(side); err != nil {
		data, err := read()
		if err != nil {
			return connectors.FileInfo{}, err
		}
		feats, err := Parse(data)
		if err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: %w", path, err)
		}
		if err := writeSidecar(side, feats); err != nil {
			return connectors.FileInfo{}, fmt.Errorf("%s: write sidecar: %w", path, err)
		}
	}
	expr := fmt.Sprintf("read_parquet(%s)", connectors.QuoteString(side))
	cols, err := connectors.Describe(ctx, db, expr)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: sidecar %s: %w", path, side, connectors.CleanError(err))
	}
	for i := range cols {
		if cols[i].Name == GeometryColumn {
			cols[i].Type = GeometryType
		}
	}
	n, stats, err := connectors.ColumnStatsSQL(ctx, db, expr, cols)
	if err != nil {
		return connectors.FileInfo{}, fmt.Errorf("%s: sidecar %s: %w", path, side, connectors.CleanError(err))
	}
	info := connectors.FileInfo{Columns: cols, Rows: n, Stats: stats, Read: map[string]string{"sidecar": side}}
	if n > 0 && stats["minx"].HasMinMax {
		var b connectors.BBox
		row := db.QueryRowContext(ctx, "SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "+expr)
		if err := row.Scan(&b.MinX, &b.MinY, &b.MaxX, &b.MaxY); err == nil {
			info.BBox, info.BBoxColumn = &b, GeometryColumn
		}
	}
	return info, nil
}

// Scan reads the sidecars of the spec's files and converts the WKB column to
// GEOMETRY.
func (c *Connector) Scan(spec connectors.ScanSpec) (string, error) {
	sides := make([]string, 0, len(spec.Files))
	for i, f := range spec.Files {
		if i < len(spec.FileRead) && spec.FileRead[i]["sidecar"] != "" {
			sides = append(sides, spec.FileRead[i]["sidecar"])
			continue
		}
		st, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		sides = append(sides, c.Sidecar(f, st.Size(), st.ModTime().UnixNano()))
	}
	sides, err := spec.Paths(sides)
	if err != nil {
		return "", err
	}
	var sel []string
	for _, col := range spec.Columns {
		q := connectors.QuoteIdent(col.Name)
		if col.Name == GeometryColumn {
			sel = append(sel, "ST_GeomFromWKB("+q+")::"+GeometryType+" AS "+q)
		} else {
			sel = append(sel, q)
		}
	}
	return fmt.Sprintf("(SELECT %s FROM read_parquet(%s, union_by_name=true, hive_partitioning=false))",
		strings.Join(sel, ", "), connectors.FileList(sides)), nil
}

// GeometryType is the geometry column's type: GeoJSON's coordinates are
// longitude and latitude on WGS 84 (RFC 7946), so its CRS is OGC:CRS84.
// Results carry it in their GeoArrow metadata (geoarrow.wkb, PROJJSON),
// so GeoPandas and other GIS tools get the CRS without being told.
const GeometryType = "GEOMETRY('OGC:CRS84')"

// Feature is one parsed feature.
type Feature struct {
	Geometry   orb.Geometry
	Properties map[string]any
}

// Parse reads a FeatureCollection, a Feature, or a sequence of Features (one
// per line, or concatenated). Errors name the line and column at fault.
func Parse(data []byte) ([]Feature, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []Feature
	for {
		off := dec.InputOffset()
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, positioned(data, off, err)
		}
		start := off + int64(leadingSpace(data[off:]))
		var head struct {
			Type     string            `json:"type"`
			Features []json.RawMessage `json:"features"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, positioned(data, start, err)
		}
		switch head.Type {
		case "FeatureCollection":
			// Find each feature's offset for error messages.
			offs := featureOffsets(data, start)
			for i, f := range head.Features {
				feat, err := parseFeature(f)
				if err != nil {
					at := start
					if i < len(offs) {
						at = offs[i]
					}
					return nil, fmt.Errorf("feature %d: %w", i, positioned(data, at, err))
				}
				out = append(out, feat)
			}
		case "Feature":
			feat, err := parseFeature(raw)
			if err != nil {
				return nil, fmt.Errorf("feature %d: %w", len(out), positioned(data, start, err))
			}
			out = append(out, feat)
		default:
			return nil, positioned(data, start, fmt.Errorf("type %q is not FeatureCollection or Feature", head.Type))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no features", ErrMalformed)
	}
	return out, nil
}

func parseFeature(raw []byte) (Feature, error) {
	var head struct {
		Type     string          `json:"type"`
		Geometry json.RawMessage `json:"geometry"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Feature{}, err
	}
	if head.Type != "Feature" {
		return Feature{}, fmt.Errorf("type %q is not Feature", head.Type)
	}
	if len(head.Geometry) > 0 && string(head.Geometry) != "null" {
		if err := checkGeometry(head.Geometry, 0); err != nil {
			return Feature{}, fmt.Errorf("geometry: %w", err)
		}
	}
	f, err := orbjson.UnmarshalFeature(raw)
	if err != nil {
		return Feature{}, fmt.Errorf("geometry: %w", err)
	}
	if f.Geometry == nil && len(head.Geometry) > 0 && string(head.Geometry) != "null" {
		return Feature{}, fmt.Errorf("geometry: not a GeoJSON geometry: %.60s", head.Geometry)
	}
	return Feature{Geometry: f.Geometry, Properties: f.Properties}, nil
}

// featureOffsets returns the byte offset of each element of the "features"
// array of the object starting at start.
func featureOffsets(data []byte, start int64) []int64 {
	dec := json.NewDecoder(bytes.NewReader(data[start:]))
	if _, err := dec.Token(); err != nil { // {
		return nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		if key != "features" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return nil
			}
			continue
		}
		if _, err := dec.Token(); err != nil { // [
			return nil
		}
		var offs []int64
		for dec.More() {
			off := dec.InputOffset()
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return offs
			}
			// InputOffset is before any separating comma and space.
			rest := data[start+off:]
			n := leadingSpace(rest)
			if n < len(rest) && rest[n] == ',' {
				n += 1 + leadingSpace(rest[n+1:])
			}
			offs = append(offs, start+off+int64(n))
		}
		return offs
	}
	return nil
}

func leadingSpace(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == ' ' || b[n] == '\t' || b[n] == '\n' || b[n] == '\r') {
		n++
	}
	return n
}

// positioned wraps err with the line and column of a byte offset, using the
// offset of a JSON syntax error where there is one.
func positioned(data []byte, off int64, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off += se.Offset
		if off > 0 {
			off-- // Offset is just past the bad byte
		}
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Errorf("%w at line %d, column %d: %w", ErrMalformed, line, col, err)
}

// property types, in widening order
const (
	kNone = iota
	kBool
	kInt
	kDouble
	kString
	kJSON
)

func kindOf(v any) int {
	switch x := v.(type) {
	case nil:
		return kNone
	case bool:
		return kBool
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return kInt
		}
		return kDouble
	case string:
		return kString
	default:
		return kJSON
	}
}

func widen(a, b int) int {
	switch {
	case a == kNone:
		return b
	case b == kNone || a == b:
		return a
	case (a == kInt && b == kDouble) || (a == kDouble && b == kInt):
		return kDouble
	case a == kJSON || b == kJSON:
		return kJSON
	default:
		return kString
	}
}

type propCol struct {
	key  string // property key
	name string // column name
	kind int
}

// propertyColumns infers one typed column per property key, in first-seen
// order, renaming keys that clash with the fixed columns or with each other
// (DuckDB names are case-insensitive).
func propertyColumns(feats []Feature) []propCol {
	index := map[string]int{}
	var cols []propCol
	for _, f := range feats {
		keys := make([]string, 0, len(f.Properties))
		for k := range f.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			i, ok := index[k]
			if !ok {
				i = len(cols)
				index[k] = i
				cols = append(cols, propCol{key: k})
			}
			cols[i].kind = widen(cols[i].kind, kindOf(f.Properties[k]))
		}
	}
	taken := map[string]bool{GeometryColumn: true}
	for _, b := range bboxColumns {
		taken[b] = true
	}
	for i := range cols {
		name := cols[i].key
		for n := 2; taken[strings.ToLower(name)]; n++ {
			name = fmt.Sprintf("%s_%d", cols[i].key, n)
		}
		taken[strings.ToLower(name)] = true
		cols[i].name = name
	}
	return cols
}

func arrowType(kind int) arrow.DataType {
	switch kind {
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	case kInt:
		return arrow.PrimitiveTypes.Int64
	case kDouble:
		return arrow.PrimitiveTypes.Float64
	default:
		return arrow.BinaryTypes.String
	}
}

// writeSidecar writes the features as Parquet to a temporary name and renames
// it into place, so a reader never sees half a sidecar.
func writeSidecar(path string, feats []Feature) error {
	props := propertyColumns(feats)
	fields := make([]arrow.Field, 0, len(props)+5)
	for _, p := range props {
		fields = append(fields, arrow.Field{Name: p.name, Type: arrowType(p.kind), Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: GeometryColumn, Type: arrow.BinaryTypes.Binary, Nullable: true})
	for _, b := range bboxColumns {
		fields = append(fields, arrow.Field{Name: b, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	for _, f := range feats {
		for i, p := range props {
			v, ok := f.Properties[p.key]
			if !ok || v == nil {
				bld.Field(i).AppendNull()
				continue
			}
			switch b := bld.Field(i).(type) {
			case *array.BooleanBuilder:
				b.Append(v.(bool))
			case *array.Int64Builder:
				b.Append(int64(v.(float64)))
			case *array.Float64Builder:
				b.Append(v.(float64))
			case *array.StringBuilder:
				if s, ok := v.(string); ok && p.kind == kString {
					b.Append(s)
				} else {
					js, err := json.Marshal(v)
					if err != nil {
						return err
					}
					b.Append(string(js))
				}
			}
		}
		g := len(props)
		if f.Geometry == nil {
			for i := 0; i < 5; i++ {
				bld.Field(g + i).AppendNull()
			}
			continue
		}
		w, err := wkb.Marshal(f.Geometry)
		if err != nil {
			return err
		}
		bld.Field(g).(*array.BinaryBuilder).Append(w)
		bound := f.Geometry.Bound()
		for i, v := range []float64{bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1]} {
			bld.Field(g + 1 + i).(*array.Float64Builder).Append(v)
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sidecar-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	props2 := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	w, err := pqarrow.NewFileWriter(schema, tmp, props2, pqarrow.DefaultWriterProps())
	if err != nil {
		tmp.Close()
		return err
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil { // closes tmp too
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// depth is how deeply each geometry type nests positions.
var depth = map[string]int{
	"Point": 0, "LineString": 1, "MultiPoint": 1,
	"Polygon": 2, "MultiLineString": 2, "MultiPolygon": 3,
}

// checkGeometry checks what orb lets through: every position has two or
// more numbers, nested as deep as the type says.
func checkGeometry(raw json.RawMessage, level int) error {
	var g struct {
		Type        string            `json:"type"`
		Coordinates json.RawMessage   `json:"coordinates"`
		Geometries  []json.RawMessage `json:"geometries"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return err
	}
	if g.Type == "GeometryCollection" {
		if level > 8 {
			return errors.New("geometry collections nested too deep")
		}
		for _, sub := range g.Geometries {
			if err := checkGeometry(sub, level+1); err != nil {
				return err
			}
		}
		return nil
	}
	d, ok := depth[g.Type]
	if !ok {
		return fmt.Errorf("type %q is not a GeoJSON geometry", g.Type)
	}
	return checkCoords(g.Type, g.Coordinates, d)
}

func checkCoords(typ string, raw json.RawMessage, d int) error {
	if d == 0 {
		var pos []float64
		if err := json.Unmarshal(raw, &pos); err != nil || len(pos) < 2 {
			return fmt.Errorf("%s: position %s is not [x, y]", typ, raw)
		}
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("%s: coordinates %.40s are not nested %d deep", typ, raw, d+1)
	}
	for _, item := range list {
		if err := checkCoords(typ, item, d-1); err != nil {
			return err
		}
	}
	return nil
}
