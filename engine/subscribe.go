//go:build duckdb_arrow

package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/connectors"
	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/live"
	"github.com/qry-dev/qry/sql"
)

// ErrNotSubscribable is returned for a subscription to a statement that
// reads no writable table.
var ErrNotSubscribable = fault.New(fault.Statement,
	"a subscription reads writable tables: SELECT ... FROM one writable table [WHERE ...] gets each new row that matches; any other SELECT over writable tables is run again at each tick")

// SlowError ends a subscription whose client did not keep up: its buffer
// stayed full while writers added more than SubscribeOptions.MaxLag rows.
// The client resumes with From = Resume.
type SlowError struct {
	Resume uint64
	Lag    uint64
}

func (e *SlowError) Error() string {
	return fmt.Sprintf("subscriber too slow: its buffer stayed full while %d rows were written; resume from sequence %d", e.Lag, e.Resume)
}

// Unwrap classifies it as Busy (retry later, from Resume).
func (e *SlowError) Unwrap() error { return errSlow }

var errSlow = fault.New(fault.Busy, "subscriber too slow")

// SubscribeOptions shape a subscription.
type SubscribeOptions struct {
	// From, when set, asks for the rows written after this sequence number
	// (0: every row the table holds, its archive too); unset, for the rows
	// written from now on. Query subscriptions ignore it.
	From *uint64
	// Buffer bounds the Arrow bytes waiting for the client (0: 64 MiB).
	Buffer int64
	// MaxLag is how many rows writers may add while the buffer stays full
	// before the subscription ends with a SlowError (0: 1,000,000).
	MaxLag uint64
}

// Event is what a subscription delivers: a batch of the result, and the
// sequence number it brings the client up to (a resumed subscription
// asks for what comes after it).
type Event struct {
	// Batch is the caller's to release. Row subscriptions deliver only
	// rows that match; query subscriptions the whole new result.
	Batch arrow.RecordBatch
	Seq   uint64
}

// subscribeWindow is the most sequence numbers one event covers.
const subscribeWindow = 1 << 16

// Subscription streams a statement's new results. Writers never wait for
// it: it reads what they wrote from the live tier (or the archive) when
// its client has room.
type Subscription struct {
	// Schema is every event's batch's schema.
	Schema *arrow.Schema
	// Rows is true for a row subscription (each new row that matches,
	// once), false for a query run again at each tick (its result, when
	// it changed).
	Rows bool

	e      *Engine
	text   string
	ref    sql.Ref
	tables []string
	opts   SubscribeOptions
	watch  *live.Watch
	start  uint64
	stop   context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	queue     []Event
	bytes     int64
	err       error
	delivered uint64
	ready     chan struct{} // an event or the end is there
	room      chan struct{} // the client took an event
}

// subscriptionStats are the engine's subscription counters, and the
// open subscriptions.
type subscriptionStats struct {
	active, events, rows, slow atomic.Int64
	mu                         sync.Mutex
	open                       map[*Subscription]struct{}
	ended                      bool
}

// EndSubscriptions ends every open subscription, and any made later (a
// server shutting down): their Next returns ErrSubscriptionClosed once
// they delivered what they queued.
func (e *Engine) EndSubscriptions() {
	e.subs.mu.Lock()
	defer e.subs.mu.Unlock()
	e.subs.ended = true
	for s := range e.subs.open {
		s.stop()
	}
}

// SubscriptionStats describe subscriptions for metrics.
type SubscriptionStats struct {
	Active, Events, Rows, Slow int64
}

// SubscriptionStats reports the subscription counters.
func (e *Engine) SubscriptionStats() SubscriptionStats {
	return SubscriptionStats{Active: e.subs.active.Load(), Events: e.subs.events.Load(), Rows: e.subs.rows.Load(), Slow: e.subs.slow.Load()}
}

// Subscribe starts a subscription to text: SELECT ... FROM a writable
// table [WHERE ...] delivers each acknowledged row that matches, once, in
// write order; any other SELECT over writable tables is run again at each
// tick and delivered when its result changed. The statement passes the
// same sandbox as a query. Close it when done.
func (e *Engine) Subscribe(ctx context.Context, text string, opts SubscribeOptions) (*Subscription, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = e.opts.SubscribeBuffer
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 64 << 20
	}
	if opts.MaxLag == 0 {
		opts.MaxLag = e.opts.SubscribeMaxLag
	}
	if opts.MaxLag == 0 {
		opts.MaxLag = 1_000_000
	}
	limit := int64(e.opts.MaxSubscriptions)
	if limit == 0 {
		limit = 64
	}
	if limit > 0 && e.subs.active.Load() >= limit {
		return nil, fmt.Errorf("%w: %d subscriptions are open (--max-subscriptions)", ErrBusy, limit)
	}
	// The sandbox's gate and the result's schema, as for a query.
	info, err := e.Describe(ctx, text)
	if err != nil {
		return nil, err
	}
	if !info.ReadOnly || info.Update {
		return nil, ErrNotSubscribable
	}
	st, err := e.parse(ctx, text)
	if err != nil {
		return nil, err
	}
	snap := e.cat.Snapshot()
	a := sql.Analyze(st, func(name string) ([]string, bool) {
		t, ok := snap.Table(name)
		if !ok || !e.hasView(t.Name) {
			return nil, false
		}
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = c.Name
		}
		return cols, true
	})
	s := &Subscription{Schema: info.Schema, e: e, text: text, opts: opts, done: make(chan struct{}),
		ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
	for _, r := range a.Refs {
		if e.live.Has(r.Table) && !slices.ContainsFunc(s.tables, func(t string) bool { return strings.EqualFold(t, r.Table) }) {
			s.tables = append(s.tables, r.Table)
		}
	}
	if len(s.tables) == 0 {
		return nil, ErrNotSubscribable
	}
	for _, t := range s.tables {
		if !e.live.Writer(t) {
			// Its writes happen in another process: none would arrive.
			return nil, fmt.Errorf("table %s: %w: subscribe on the qry server that writes it", t, live.ErrOtherWriter)
		}
	}
	s.Rows = len(a.Refs) == 1 && a.Refs[0].Start >= 0 && e.live.Has(a.Refs[0].Table) && sql.RowsOnly(st, e.isAggregate)
	if s.Rows {
		s.ref = a.Refs[0]
	}
	if s.watch, err = e.live.Watch(s.tables...); err != nil {
		return nil, err
	}
	start := uint64(0)
	if opts.From != nil {
		start = *opts.From
	} else if seqs, ok := e.live.Seqs(s.tables[0]); ok {
		start = seqs.Written
	}
	s.delivered, s.start = start, start
	sctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	e.subs.mu.Lock()
	if e.subs.open == nil {
		e.subs.open = map[*Subscription]struct{}{}
	}
	e.subs.open[s] = struct{}{}
	if e.subs.ended {
		stop()
	}
	e.subs.mu.Unlock()
	e.subs.active.Add(1)
	go func() {
		defer close(s.done)
		defer func() {
			e.subs.mu.Lock()
			delete(e.subs.open, s)
			e.subs.mu.Unlock()
		}()
		defer e.subs.active.Add(-1)
		defer s.watch.Stop()
		defer func() {
			if p := recover(); p != nil {
				s.end(fmt.Errorf("subscription stopped: %v", p))
			}
		}()
		if s.Rows {
			s.end(s.follow(sctx, start))
		} else {
			s.end(s.rerun(sctx))
		}
	}()
	return s, nil
}

// Start is the sequence number the subscription starts after: From, or
// how far the table was written when it began.
func (s *Subscription) Start() uint64 { return s.start }

// Next waits for the next event. After the subscription ended (Close, an
// error, a slow client), it returns the reason: ErrSubscriptionClosed, a
// *SlowError, or the query's error.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ev := s.queue[0]
			s.queue[0] = Event{}
			s.queue = s.queue[1:]
			s.bytes -= batchBytes(ev.Batch)
			s.delivered = ev.Seq
			s.mu.Unlock()
			select {
			case s.room <- struct{}{}:
			default:
			}
			return ev, nil
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return Event{}, err
		}
		select {
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-s.ready:
		}
	}
}

// ErrSubscriptionClosed is Next's answer once Close was called.
var ErrSubscriptionClosed = errors.New("subscription closed")

// Close ends the subscription and releases what it holds.
func (s *Subscription) Close() {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.queue {
		ev.Batch.Release()
	}
	s.queue = nil
}

// end records why the producer stopped (the first reason wins).
func (s *Subscription) end(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		err = ErrSubscriptionClosed
	}
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// put queues ev for the client. While the buffer is full it waits for
// room; if writers add more than MaxLag rows meanwhile, the subscription
// ends with a SlowError. It takes ev's batch over.
func (s *Subscription) put(ctx context.Context, ev Event) error {
	size := batchBytes(ev.Batch)
	var waitFrom uint64
	waiting := false
	for {
		s.mu.Lock()
		if len(s.queue) == 0 || s.bytes+size <= s.opts.Buffer {
			s.queue = append(s.queue, ev)
			s.bytes += size
			s.mu.Unlock()
			s.e.subs.events.Add(1)
			s.e.subs.rows.Add(ev.Batch.NumRows())
			select {
			case s.ready <- struct{}{}:
			default:
			}
			return nil
		}
		// The client gets what is queued before the error: it resumes
		// after the last of it.
		resume := s.queue[len(s.queue)-1].Seq
		s.mu.Unlock()
		written := s.written()
		if !waiting {
			waiting, waitFrom = true, written
		} else if written-waitFrom > s.opts.MaxLag {
			ev.Batch.Release()
			s.e.subs.slow.Add(1)
			return &SlowError{Resume: resume, Lag: written - waitFrom}
		}
		select {
		case <-ctx.Done():
			ev.Batch.Release()
			return ctx.Err()
		case <-s.room:
		case <-s.watch.C:
		}
	}
}

// written is the sum of the subscribed tables' written sequence numbers
// (how far writers have gone).
func (s *Subscription) written() uint64 {
	var n uint64
	for _, t := range s.tables {
		if seqs, ok := s.e.live.Seqs(t); ok {
			n += seqs.Written
		}
	}
	return n
}

// follow delivers the rows written after start that match, window by
// window, as writers commit them.
func (s *Subscription) follow(ctx context.Context, start uint64) error {
	last := start
	table := s.tables[0]
	for {
		seqs, ok := s.e.live.Seqs(table)
		if !ok {
			return fmt.Errorf("table %s takes no writes any more", table)
		}
		if seqs.Written <= last {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.watch.C:
			}
			continue
		}
		upto := min(seqs.Written, last+subscribeWindow)
		batch, err := s.window(ctx, last, upto)
		if err != nil {
			return err
		}
		if batch != nil {
			if err := s.put(ctx, Event{Batch: batch, Seq: upto}); err != nil {
				return err
			}
		}
		last = upto
	}
}

// window runs the statement over the rows with sequence numbers in
// (after, upto]: from the live tier, and from the archive for those a tick
// moved there. It returns one batch, or nil when no row matched.
func (s *Subscription) window(ctx context.Context, after, upto uint64) (arrow.RecordBatch, error) {
	e := s.e
	c, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(c)
	// No tick hands rows over between reading Archived and the query's
	// start.
	read := e.live.BeginRead()
	defer read.Done()
	seqs, _ := e.live.Seqs(s.ref.Table)
	t, ok := e.cat.Snapshot().Table(s.ref.Table)
	if !ok {
		return nil, fmt.Errorf("table %s is gone from the catalog", s.ref.Table)
	}
	delta, _ := e.live.LiveSince(t, after, upto)
	if after < seqs.Archived {
		scan, err := t.ScanWith(nil, e.via(), []catalog.Column{{Name: catalog.SeqColumn, Type: "UBIGINT"}})
		if err != nil {
			return nil, err
		}
		delta = fmt.Sprintf("SELECT * FROM %s WHERE %s > %d AND %s <= %d UNION ALL %s",
			scan, catalog.SeqColumn, after, catalog.SeqColumn, upto, delta)
	}
	cols := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		cols[i] = connectors.QuoteIdent(col.Name)
	}
	rel := fmt.Sprintf("(SELECT %s FROM (%s) ORDER BY %s) AS %s", strings.Join(cols, ", "), delta, catalog.SeqColumn, connectors.QuoteIdent(s.ref.Name))
	q := sql.Rewrite(s.text, []sql.Edit{{Start: s.ref.Start, End: s.ref.End, Text: rel}})
	r, err := c.Query(ctx, q)
	if err != nil {
		return nil, e.clean(err)
	}
	read.Started()
	defer r.Close()
	var batches []arrow.RecordBatch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for r.Next() {
		b := r.RecordBatch()
		if b.NumRows() > 0 {
			b.Retain()
			batches = append(batches, b)
		}
	}
	if err := r.Err(); err != nil {
		return nil, e.clean(err)
	}
	return joined(s.Schema, &batches)
}

// joined is batches as one batch of schema (nil for none), taking them
// over.
func joined(schema *arrow.Schema, batches *[]arrow.RecordBatch) (arrow.RecordBatch, error) {
	parts := *batches
	*batches = nil
	if len(parts) == 0 {
		return nil, nil
	}
	var n int64
	for _, b := range parts {
		n += b.NumRows()
	}
	return concat(schema, parts, n, memory.DefaultAllocator)
}

// rerun runs the statement now and again after each tick of its tables,
// and delivers its result when it changed.
func (s *Subscription) rerun(ctx context.Context) error {
	var prev [sha256.Size]byte
	first := true
	archived := map[string]uint64{}
	for {
		changed := first
		var seq uint64
		for _, t := range s.tables {
			seqs, _ := s.e.live.Seqs(t)
			if seqs.Archived != archived[t] {
				changed = true
				archived[t] = seqs.Archived
			}
			seq += seqs.Written
		}
		if !changed {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-s.watch.C:
			}
			continue
		}
		batch, sum, err := s.run(ctx)
		if err != nil {
			return err
		}
		if first || sum != prev {
			prev, first = sum, false
			if err := s.put(ctx, Event{Batch: batch, Seq: seq}); err != nil {
				return err
			}
		} else {
			batch.Release()
		}
	}
}

// run runs the statement as a query and returns its whole result as one
// batch, with a digest of it.
func (s *Subscription) run(ctx context.Context) (arrow.RecordBatch, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	rows, err := s.e.Query(ctx, s.text)
	if err != nil {
		return nil, sum, err
	}
	defer rows.Release()
	var batches []arrow.RecordBatch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for rows.Next() {
		b := rows.RecordBatch()
		b.Retain()
		batches = append(batches, b)
	}
	if err := rows.Err(); err != nil {
		return nil, sum, err
	}
	batch, err := joined(s.Schema, &batches)
	if err != nil {
		return nil, sum, err
	}
	if batch == nil {
		batch = emptyBatch(s.Schema)
	}
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s.Schema))
	if err := w.Write(batch); err != nil {
		batch.Release()
		return nil, sum, err
	}
	_ = w.Close()
	return batch, sha256.Sum256(buf.Bytes()), nil
}

func emptyBatch(schema *arrow.Schema) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	return b.NewRecordBatch()
}
