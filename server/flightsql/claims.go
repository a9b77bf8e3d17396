package flightsql

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
)

// Claims are written field by field, not with gob: a gob stream carries
// its types' descriptions, so each ticket opened compiled a decoder anew
// (37 us and 346 allocations a sign and open, the largest share of a
// small query's time in the server; this encoding: a few us).
//
// The layout: a flags byte; SQL and user as length-prefixed strings; the
// expiry (if flagged) as time's binary form; the 12-byte ID; the
// arguments, each a type byte and its value; the part (if flagged).

const (
	flagPrepared = 1 << iota
	flagBound
	flagExpires
	flagPart
)

// Argument types: what value (params.go) makes of a parameter.
const (
	argNil = iota
	argBool
	argInt8
	argInt16
	argInt32
	argInt64
	argUint8
	argUint16
	argUint32
	argUint64
	argFloat32
	argFloat64
	argString
	argBytes
	argTime
)

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	raw, err := t.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return appendString(b, string(raw)), nil
}

// encodeClaims appends c's encoding to b.
func encodeClaims(b []byte, c *claims) ([]byte, error) {
	var flags byte
	if c.Prepared {
		flags |= flagPrepared
	}
	if c.Bound {
		flags |= flagBound
	}
	if !c.Expires.IsZero() {
		flags |= flagExpires
	}
	if c.Part != nil {
		flags |= flagPart
	}
	b = append(b, flags)
	b = appendString(b, c.SQL)
	b = appendString(b, c.User)
	var err error
	if !c.Expires.IsZero() {
		if b, err = appendTime(b, c.Expires); err != nil {
			return nil, err
		}
	}
	b = append(b, c.ID[:]...)
	b = binary.AppendUvarint(b, uint64(len(c.Args)))
	for _, a := range c.Args {
		switch v := a.(type) {
		case nil:
			b = append(b, argNil)
		case bool:
			x := byte(0)
			if v {
				x = 1
			}
			b = append(b, argBool, x)
		case int8:
			b = binary.AppendVarint(append(b, argInt8), int64(v))
		case int16:
			b = binary.AppendVarint(append(b, argInt16), int64(v))
		case int32:
			b = binary.AppendVarint(append(b, argInt32), int64(v))
		case int64:
			b = binary.AppendVarint(append(b, argInt64), v)
		case uint8:
			b = binary.AppendUvarint(append(b, argUint8), uint64(v))
		case uint16:
			b = binary.AppendUvarint(append(b, argUint16), uint64(v))
		case uint32:
			b = binary.AppendUvarint(append(b, argUint32), uint64(v))
		case uint64:
			b = binary.AppendUvarint(append(b, argUint64), v)
		case float32:
			b = binary.LittleEndian.AppendUint32(append(b, argFloat32), math.Float32bits(v))
		case float64:
			b = binary.LittleEndian.AppendUint64(append(b, argFloat64), math.Float64bits(v))
		case string:
			b = appendString(append(b, argString), v)
		case []byte:
			b = appendString(append(b, argBytes), string(v))
		case time.Time:
			if b, err = appendTime(append(b, argTime), v); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("a parameter of type %T cannot go in a ticket", a)
		}
	}
	if p := c.Part; p != nil {
		b = appendString(b, p.Table)
		b = binary.AppendVarint(b, p.Bytes)
		b = binary.AppendVarint(b, p.Rows)
		b = binary.AppendUvarint(b, uint64(len(p.Files)))
		for _, f := range p.Files {
			b = appendString(b, f.Path)
			b = binary.AppendVarint(b, f.Size)
			if b, err = appendTime(b, f.ModTime); err != nil {
				return nil, err
			}
			b = appendString(b, f.ETag)
			if f.Rows == nil {
				b = append(b, 0)
			} else {
				b = binary.AppendVarint(append(b, 1), f.Rows.Start)
				b = binary.AppendVarint(b, f.Rows.End)
			}
		}
	}
	return b, nil
}

// errShort is a body that ends inside a value or holds a bad one.
var errShort = errors.New("ticket body truncated or malformed")

// reader reads a claims body; its first failure sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err = errShort; r.b = nil }

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	x := r.b[0]
	r.b = r.b[1:]
	return x
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.fail()
		return nil
	}
	x := r.b[:n:n]
	r.b = r.b[n:]
	return x
}

func (r *reader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

// count is a length that must fit in what is left (each item takes a
// byte at least).
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) string() string { return string(r.bytes(r.count())) }

func (r *reader) time() time.Time {
	var t time.Time
	if raw := r.bytes(r.count()); r.err == nil && t.UnmarshalBinary(raw) != nil {
		r.fail()
	}
	return t
}

// decodeClaims reads what encodeClaims wrote.
func decodeClaims(body []byte) (*claims, error) {
	r := &reader{b: body}
	flags := r.byte()
	c := &claims{Prepared: flags&flagPrepared != 0, Bound: flags&flagBound != 0}
	c.SQL = r.string()
	c.User = r.string()
	if flags&flagExpires != 0 {
		c.Expires = r.time()
	}
	copy(c.ID[:], r.bytes(len(c.ID)))
	if n := r.count(); n > 0 {
		c.Args = make([]any, n)
		for i := range c.Args {
			c.Args[i] = r.arg()
		}
	}
	if flags&flagPart != 0 {
		p := &engine.Part{Table: r.string(), Bytes: r.varint(), Rows: r.varint()}
		if n := r.count(); n > 0 {
			p.Files = make([]engine.FileRef, n)
			for i := range p.Files {
				f := &p.Files[i]
				f.Path, f.Size, f.ModTime, f.ETag = r.string(), r.varint(), r.time(), r.string()
				if r.byte() == 1 {
					f.Rows = &catalog.RowRange{Start: r.varint(), End: r.varint()}
				}
			}
		}
		c.Part = p
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

func (r *reader) arg() any {
	switch t := r.byte(); t {
	case argNil:
		return nil
	case argBool:
		return r.byte() == 1
	case argInt8:
		return int8(r.varint())
	case argInt16:
		return int16(r.varint())
	case argInt32:
		return int32(r.varint())
	case argInt64:
		return r.varint()
	case argUint8:
		return uint8(r.uvarint())
	case argUint16:
		return uint16(r.uvarint())
	case argUint32:
		return uint32(r.uvarint())
	case argUint64:
		return r.uvarint()
	case argFloat32:
		if b := r.bytes(4); b != nil {
			return math.Float32frombits(binary.LittleEndian.Uint32(b))
		}
	case argFloat64:
		if b := r.bytes(8); b != nil {
			return math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
	case argString:
		return r.string()
	case argBytes:
		return append([]byte{}, r.bytes(r.count())...)
	case argTime:
		return r.time()
	default:
		r.fail()
	}
	return nil
}
