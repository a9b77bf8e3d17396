package flightsql

import (
	"bytes"
	"compress/flate"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
)

// Tickets and prepared-statement handles are self-contained: what a call
// needs (the statement, its parameters, the part of the result, the
// caller, an expiry) travels in the value itself, signed with an HMAC of
// the cluster's ticket secret. Any replica that shares the secret redeems
// any ticket, and a replica keeps nothing a client depends on between
// calls: a client may be routed to another replica at each call.
//
// A value is "qry1" + HMAC-SHA256(secret, "qry1" + body) + body, where the
// body is the claims (claims.go; deflated when large: a part's list of
// files).

const ticketMagic = "qry1"

// Errors of a ticket or handle that cannot be redeemed.
var (
	ErrBadTicket     = fault.New(fault.Unauthenticated, "ticket or statement handle not signed with this server's ticket secret (tampered with, or from another cluster): run the query again")
	ErrTicketExpired = fault.New(fault.Unauthenticated, "ticket expired: run the query again for new tickets")
	ErrTicketUser    = fault.New(fault.Forbidden, "ticket issued to another user")
)

// claims are what a ticket or handle says.
type claims struct {
	// Prepared marks a prepared-statement handle (else a ticket).
	Prepared bool
	SQL      string
	Args     []any
	// Bound is set once parameters were bound to a handle (Args may be
	// empty then: no parameters).
	Bound bool
	User  string
	// Expires is when a ticket stops being redeemable (zero: never, for
	// a handle).
	Expires time.Time
	// Part, if set, is the part of the result the ticket reads.
	Part *engine.Part
	// ID tells tickets apart (CancelFlightInfo cancels the runs of one).
	ID [12]byte
}

// Secrets sign and check tickets: the first signs, every one checks, so a
// secret can be rotated without refusing the tickets already handed out
// (list the new one first, keep the old one until its tickets expire).
// Set may be called at any time (a reload).
type Secrets struct {
	keys atomic.Pointer[[][]byte]
}

// NewSecrets returns Secrets with keys; with none, one random key (tickets
// are then redeemed by this process only).
func NewSecrets(keys ...[]byte) *Secrets {
	s := &Secrets{}
	s.Set(keys...)
	return s
}

// Set replaces the keys (see NewSecrets).
func (s *Secrets) Set(keys ...[]byte) {
	var kept [][]byte
	for _, k := range keys {
		if len(k) > 0 {
			kept = append(kept, bytes.Clone(k))
		}
	}
	if len(kept) == 0 {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		kept = [][]byte{k}
	}
	s.keys.Store(&kept)
}

func mac(key, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(ticketMagic))
	h.Write(body)
	return h.Sum(nil)
}

// sign encodes and signs c.
func (s *Secrets) sign(c *claims) ([]byte, error) {
	body, err := encodeClaims([]byte{plainBody}, c)
	if err != nil {
		return nil, fmt.Errorf("encode ticket: %w", err)
	}
	if len(body) > deflateAbove {
		// A part's list of files: deflated.
		var z bytes.Buffer
		z.WriteByte(deflatedBody)
		w, err := flate.NewWriter(&z, flate.BestSpeed)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(body[1:]); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		body = z.Bytes()
	}
	key := (*s.keys.Load())[0]
	out := make([]byte, 0, len(ticketMagic)+sha256.Size+len(body))
	out = append(out, ticketMagic...)
	out = append(out, mac(key, body)...)
	return append(out, body...), nil
}

// A body's first byte says how the claims follow.
const (
	plainBody    = 'c' // claims.go's encoding ('g', gob, before)
	deflatedBody = 'd' // the same, deflated ('z' before)
	// deflateAbove is the size past which a body is deflated (making a
	// deflater costs more than small tickets gain).
	deflateAbove = 4 << 10
)

// maxTicketBody bounds a ticket's decoded claims (a ticket names at most
// a part's files).
const maxTicketBody = 64 << 20

// open checks a signed value and decodes its claims. It does not check
// the expiry or the user (see redeem).
func (s *Secrets) open(v []byte) (*claims, error) {
	if len(v) < len(ticketMagic)+sha256.Size || string(v[:len(ticketMagic)]) != ticketMagic {
		return nil, ErrBadTicket
	}
	sum, body := v[len(ticketMagic):len(ticketMagic)+sha256.Size], v[len(ticketMagic)+sha256.Size:]
	ok := false
	for _, key := range *s.keys.Load() {
		ok = ok || hmac.Equal(sum, mac(key, body))
	}
	if !ok {
		return nil, ErrBadTicket
	}
	if len(body) == 0 {
		return nil, ErrBadTicket
	}
	raw := body[1:]
	switch body[0] {
	case plainBody:
	case deflatedBody:
		z := flate.NewReader(bytes.NewReader(raw))
		defer z.Close()
		var err error
		if raw, err = io.ReadAll(io.LimitReader(z, maxTicketBody)); err != nil {
			return nil, fmt.Errorf("%w (%s)", ErrBadTicket, err.Error())
		}
	default:
		// Signed by us but in another encoding: another qry version's.
		return nil, ErrBadTicket
	}
	c, err := decodeClaims(raw)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", ErrBadTicket, err.Error())
	}
	return c, nil
}

// redeem opens a ticket or handle for user at now: it must be signed, of
// the kind asked for, unexpired and the user's.
func (s *Secrets) redeem(v []byte, prepared bool, user string, now time.Time) (*claims, error) {
	c, err := s.open(v)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Prepared != prepared:
		return nil, ErrBadTicket
	case !c.Expires.IsZero() && now.After(c.Expires):
		return nil, ErrTicketExpired
	case c.User != user:
		return nil, ErrTicketUser
	}
	return c, nil
}

// newID is a random ticket ID.
func newID() (id [12]byte) {
	_, _ = rand.Read(id[:])
	return id
}
