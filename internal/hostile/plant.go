// Package hostile is the sandbox's hostile-input suite, shared by the
// engine's fuzz target and the tests of every front end (Flight SQL, HTTP,
// the shell): it plants secret files beside a catalog table, and generates,
// class by class, statements that try to read them.
//
// A plant is a data root holding one catalog table t and files that are not
// tables and must never be read: one in an underscore folder, one in a dot
// folder, one of an ignored type, files in t's own directory that t leaves
// out, and a symbolic link that leads out of the root. Each holds a marker
// of its own (SECRET-<random>-<kind>) in its first value and elsewhere; a
// test fails if any marker shows up in a result, an error or a log line.
//
//	p := hostile.New(t)
//	cat, _ := catalog.Open(ctx, p.CatalogOptions(t, cacheDir))
//	for _, c := range p.Cases(cwd) {
//		// run c.SQL (with c.Params) through a front end; check c.Want and p.Leak
//	}
package hostile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/internal/fixture"
)

// Secret kinds: the keys of Plant.Secrets.
const (
	CSV     = "csv"      // _private/secret.csv
	Parquet = "parquet"  // _private/secret.parquet (the marker in values, a column name and metadata)
	JSON    = "json"     // _private/secret.json
	DuckDB  = "duckdb"   // _private/secret.db, a DuckDB database
	Hidden  = "hidden"   // .hidden/secret.csv
	Ignored = "ignored"  // notes.txt, a file of a type the catalog ignores
	InTable = "in-table" // t/_secret.csv: in the table's directory, left out as hidden
	Other   = "other"    // t/other.json: in the table's directory, of another format than t
	Link    = "link"     // t/escape.csv: a symbolic link out of the root, to Outside (with its marker)
	Outside = "outside"  // the file the link leads to, outside the root
	Export  = "export"   // _private/export: an EXPORT DATABASE directory whose load.sql reads the secret
)

// Plant is a data root with one catalog table and secret files beside it.
type Plant struct {
	// Dir holds everything below; the data root is Dir/root.
	Dir string
	// Root is the data root: the catalog's Data directory.
	Root string
	// Marker is what every secret file's marker starts with: SECRET- and
	// 8 random hex digits. Markers has each file's own, by kind
	// (SECRET-<hex>-<kind>).
	Marker  string
	Markers map[string]string
	// Secrets are the files that must never be read, by kind.
	Secrets map[string]string
	// Out is an empty directory statements try to write into.
	Out string
	// Config is a qry.yaml declaring the writable table w and Root as data.
	Config string
	// TableCSV is t's one file; Rows is its content (id, v), in id order.
	TableCSV string
	Rows     [][]string

	token string
	files map[string]string // listing of Root and Out at New
}

// New plants the secrets in a fresh temporary directory.
func New(t testing.TB) *Plant {
	t.Helper()
	return NewIn(t, t.TempDir())
}

// NewIn plants the secrets in dir, which must be empty or not exist.
func NewIn(t testing.TB, dir string) *Plant {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(mkdir(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	p := &Plant{Dir: dir, Root: filepath.Join(dir, "root"), token: hex.EncodeToString(b[:]), Secrets: map[string]string{}, Markers: map[string]string{}}
	p.Marker = "SECRET-" + p.token
	for _, k := range []string{CSV, Parquet, JSON, DuckDB, Hidden, Ignored, InTable, Other, Outside, Export} {
		p.Markers[k] = p.Marker + "-" + k
	}
	p.Markers[Link] = p.Markers[Outside]
	m := p.Markers
	p.TableCSV = fixture.Write(t, filepath.Join(p.Root, "t", "a.csv"), "id,v\n1,one\n2,two\n3,three\n")
	p.Rows = [][]string{{"1", "one"}, {"2", "two"}, {"3", "three"}}

	// Each file's marker is its first value (a header the sniffer may
	// take for column names, or the first row), and comes again later.
	csv := func(m string) string { return fmt.Sprintf("%s,%s-b\n%s-1,%s-2\n%s-3,%s-4\n", m, m, m, m, m, m) }
	p.Secrets[CSV] = fixture.Write(t, filepath.Join(p.Root, "_private", "secret.csv"), csv(m[CSV]))
	p.Secrets[JSON] = fixture.Write(t, filepath.Join(p.Root, "_private", "secret.json"),
		fmt.Sprintf(`{"%s": "%s", "n": "%s-n"}`+"\n", m[JSON], m[JSON], m[JSON]))
	p.Secrets[Hidden] = fixture.Write(t, filepath.Join(p.Root, ".hidden", "secret.csv"), csv(m[Hidden]))
	p.Secrets[Ignored] = fixture.Write(t, filepath.Join(p.Root, "notes.txt"), m[Ignored]+"\nthe notes say "+m[Ignored]+"\n")
	p.Secrets[InTable] = fixture.Write(t, filepath.Join(p.Root, "t", "_secret.csv"), csv(m[InTable]))
	p.Secrets[Other] = fixture.Write(t, filepath.Join(p.Root, "t", "other.json"), fmt.Sprintf(`{"v": "%s", "id": 5}`+"\n", m[Other]))
	p.Secrets[Outside] = fixture.Write(t, filepath.Join(dir, "outside", "secret.csv"), csv(m[Outside]))
	p.Secrets[Link] = filepath.Join(p.Root, "t", "escape.csv")
	if err := os.Symlink(p.Secrets[Outside], p.Secrets[Link]); err != nil {
		t.Fatal(err)
	}
	// Parquet and a DuckDB database, written by DuckDB itself.
	p.Secrets[Parquet] = filepath.Join(p.Root, "_private", "secret.parquet")
	p.Secrets[DuckDB] = filepath.Join(p.Root, "_private", "secret.db")
	db := fixture.DB(t)
	fixture.Exec(t, db,
		fmt.Sprintf(`COPY (SELECT '%s' AS "%s", '%s-' || i AS v FROM range(3) r(i)) TO '%s' (FORMAT parquet, KV_METADATA {note: '%s'})`,
			m[Parquet], m[Parquet], m[Parquet], p.Secrets[Parquet], m[Parquet]),
		fmt.Sprintf("ATTACH '%s' AS secretdb", p.Secrets[DuckDB]),
		fmt.Sprintf(`CREATE TABLE secretdb."%s" AS SELECT '%s' AS "%s"`, m[DuckDB], m[DuckDB], m[DuckDB]),
		"DETACH secretdb")
	// An export directory whose scripts would read the secret back.
	exp := filepath.Join(p.Root, "_private", "export")
	fixture.Write(t, filepath.Join(exp, "schema.sql"), fmt.Sprintf("-- %s\nCREATE TABLE leak(a VARCHAR, b VARCHAR);\n", m[Export]))
	fixture.Write(t, filepath.Join(exp, "load.sql"), fmt.Sprintf("COPY leak FROM '%s' (HEADER false);\n", p.Secrets[CSV]))
	p.Secrets[Export] = exp

	p.Out = mkdir(t, filepath.Join(dir, "out"))
	p.Config = fixture.Write(t, filepath.Join(dir, "qry.yaml"), fmt.Sprintf(`tables:
  - name: w
    path: %s
    columns:
      - {name: id, type: BIGINT}
      - {name: v, type: VARCHAR}
    writable: {tick: 1h}
data:
  - %s
`, filepath.Join(dir, "w"), p.Root))
	p.files = p.listing(t)
	return p
}

func mkdir(t testing.TB, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// CatalogOptions are the catalog of the plant: t (from Root) and the
// writable table w (from Config).
func (p *Plant) CatalogOptions(t testing.TB, cacheDir string) catalog.Options {
	t.Helper()
	cfg, err := catalog.LoadConfig(p.Config)
	if err != nil {
		t.Fatal(err)
	}
	return catalog.Options{Config: cfg, CacheDir: cacheDir}
}

// Leak reports whether s shows a marker: whole, its random part alone (a
// truncated value), in any case, or hex-encoded.
func (p *Plant) Leak(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, strings.ToLower(p.Marker)) || strings.Contains(l, p.token) ||
		strings.Contains(l, hex.EncodeToString([]byte(p.Marker)))
}

// Mentions reports whether a statement holds the marker itself (a fuzzer's
// guess): its echo in an error would not be a leak.
func (p *Plant) Mentions(sql string) bool { return p.Leak(sql) }

// CheckUnchanged fails the test if a file was written, removed or changed
// in Root or Out since New.
func (p *Plant) CheckUnchanged(t testing.TB) {
	t.Helper()
	now := p.listing(t)
	for path, was := range p.files {
		if now[path] != was {
			t.Errorf("%s changed: %q, was %q", path, now[path], was)
		}
	}
	var added []string
	for path := range now {
		if _, ok := p.files[path]; !ok {
			added = append(added, path)
		}
	}
	sort.Strings(added)
	for _, path := range added {
		t.Errorf("%s was written", path)
	}
}

func (p *Plant) listing(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{p.Root, p.Out} {
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			out[path] = fmt.Sprintf("%v %d %d", info.Mode(), info.Size(), info.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
