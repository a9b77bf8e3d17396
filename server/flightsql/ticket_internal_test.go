package flightsql

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
)

func BenchmarkTicketSignOpen(b *testing.B) {
	s := NewSecrets([]byte("0123456789abcdef0123456789abcdef"))
	c := &claims{SQL: "SELECT l_orderkey, sum(l_extendedprice) FROM lineitem WHERE l_shipdate < DATE '1995-01-01' GROUP BY 1", User: "alice", Expires: time.Now().Add(time.Hour), ID: newID()}
	b.ReportAllocs()
	for b.Loop() {
		v, err := s.sign(c)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.open(v); err != nil {
			b.Fatal(err)
		}
	}
}

// A part naming many files makes a deflated ticket that opens to the same
// claims; one bit changed anywhere is refused.
func TestLargeTicketRoundTrip(t *testing.T) {
	s := NewSecrets([]byte("0123456789abcdef0123456789abcdef"))
	part := &engine.Part{Table: "t"}
	for i := range 1000 {
		part.Files = append(part.Files, engine.FileRef{Path: fmt.Sprintf("/data/t/day=%d/part-%05d.parquet", i/10, i), Size: int64(1000 + i), ModTime: time.Unix(int64(i), 0)})
	}
	c := &claims{SQL: "SELECT * FROM t", Args: []any{int64(1), "x", nil, 2.5, time.Unix(5, 0).UTC()}, User: "u", Expires: time.Now().Add(time.Hour), Part: part, ID: newID()}
	v, err := s.sign(c)
	if err != nil {
		t.Fatal(err)
	}
	if body := v[len(ticketMagic)+32:]; body[0] != deflatedBody || len(v) > 40<<10 {
		t.Fatalf("body kind %q, %d bytes", body[0], len(v))
	}
	got, err := s.open(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Part.Files) != 1000 || got.Part.Files[999] != part.Files[999] || !reflect.DeepEqual(got.Args, c.Args) {
		t.Fatalf("opened %d files, args %v", len(got.Part.Files), got.Args)
	}
	for _, i := range []int{4, 40, len(v) / 2, len(v) - 1} {
		bent := bytes.Clone(v)
		bent[i] ^= 1
		if _, err := s.open(bent); !errors.Is(err, ErrBadTicket) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
}

// fullClaims has every field set and every parameter type value makes.
func fullClaims() *claims {
	at := time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	return &claims{
		Prepared: true, Bound: true, SQL: "SELECT * FROM t WHERE a = ? -- é", User: "alice", Expires: at, ID: newID(),
		Args: []any{nil, true, false, int8(-8), int16(-1600), int32(-32), int64(-1 << 62), uint8(200), uint16(60000),
			uint32(1 << 31), uint64(1<<64 - 1), float32(1.5), -2.25, "", "text", []byte{0, 1, 0xff}, at,
			at.In(time.FixedZone("", 5*3600+1800))}, // zone names do not travel (nor did they with gob)
		Part: &engine.Part{Table: "lineitem", Bytes: 1 << 40, Rows: 6_000_000, Files: []engine.FileRef{
			{Path: "/d/a.parquet", Size: 100, ModTime: at, ETag: "\"e1\""},
			{Path: "s3://b/b.parquet", Size: 1 << 33, ModTime: at.Add(-time.Hour), Rows: &catalog.RowRange{Start: 100_000, End: 200_000}},
		}},
	}
}

// Claims come back from their encoding exactly, and every shorter body,
// or a longer one, is refused.
func TestClaimsRoundTrip(t *testing.T) {
	for _, c := range []*claims{fullClaims(), {SQL: "SELECT 1"}, {Args: []any{}}} {
		b, err := encodeClaims(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeClaims(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Args) == 0 {
			c.Args = nil
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("got %+v\nwant %+v", got, c)
		}
		for n := range len(b) {
			if _, err := decodeClaims(b[:n]); err == nil {
				t.Fatalf("a body cut to %d of %d bytes was read", n, len(b))
			}
		}
		if _, err := decodeClaims(append(b, 0)); err == nil {
			t.Fatal("a byte past the end was ignored")
		}
	}
	if _, err := encodeClaims(nil, &claims{Args: []any{struct{}{}}}); err == nil {
		t.Fatal("a parameter of an unknown type was encoded")
	}
}

// FuzzClaims: any body is refused or read, never a panic; what is read
// encodes to a body that reads back to claims that encode the same.
// (Encodings are compared, not the claims: a time's *Location is made
// anew by each decoding, and reflect.DeepEqual tells two equal zones
// apart by their caches; testdata/fuzz/FuzzClaims has such a time.)
func FuzzClaims(f *testing.F) {
	b, _ := encodeClaims(nil, fullClaims())
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := decodeClaims(body)
		if err != nil {
			return
		}
		again, err := encodeClaims(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := decodeClaims(again)
		if err != nil {
			t.Fatalf("%v: %+v", err, c)
		}
		if twice, err := encodeClaims(nil, c2); err != nil || !bytes.Equal(again, twice) {
			t.Fatalf("%v: %+v then %+v", err, c, c2)
		}
		if c.SQL != c2.SQL || c.User != c2.User || !c.Expires.Equal(c2.Expires) || len(c.Args) != len(c2.Args) {
			t.Fatalf("%+v then %+v", c, c2)
		}
	})
}
