package flightsql

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

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
