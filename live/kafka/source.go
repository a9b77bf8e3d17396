//go:build duckdb_arrow

package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/live"
)

// Sink is where a Source writes: the live tier (*live.Tier). The batches
// given to AppendAt are the caller's to release.
type Sink interface {
	AppendAt(ctx context.Context, table string, batches []arrow.RecordBatch, pos live.Positions) (int64, error)
	Positions(table string) live.Positions
	Schema(table string) (*arrow.Schema, bool)
	Decl(table string) (string, *catalog.Writable, bool)
}

var _ Sink = (*live.Tier)(nil)

// Options configure a Source.
type Options struct {
	// Table is the writable table the topic feeds; its rejected messages
	// go to Table+catalog.RejectedSuffix.
	Table  string
	Config catalog.KafkaConfig
	Sink   Sink
	// MaxPoll is the most messages written as one write (0: 10000).
	MaxPoll int
	// Check is how often partitions added to the topic are looked for and
	// the lag is measured (0: 5 s).
	Check time.Duration
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Source reads one Kafka topic into a writable table until Close.
type Source struct {
	opts     Options
	rejected string
	log      *slog.Logger
	dec      decoder
	schema   *arrow.Schema
	rschema  *arrow.Schema
	admin    *kgo.Client
	stop     context.CancelFunc
	done     chan struct{}

	mu       sync.Mutex
	cl       *kgo.Client // the consumer, once the topic's partitions are known
	using    map[int32]bool
	pos      live.Positions // next offset to read, as written
	rejPos   live.Positions // rejected messages written up to
	ends     map[int32]int64
	lastErr  string
	rows     atomic.Int64
	rejects  atomic.Int64
	failures atomic.Int64
}

// ErrSource is wrapped by errors of a Kafka source's declaration.
var ErrSource = errors.New("kafka source")

// Start begins reading opts.Config.Topic into opts.Table from where the
// table's write-ahead log says it stopped (or from Config.Start for
// partitions it never read). It returns at once: a broker that is down or
// a topic not made yet is waited for, and logged.
func Start(opts Options) (*Source, error) {
	if opts.MaxPoll <= 0 {
		opts.MaxPoll = 10000
	}
	if opts.Check <= 0 {
		opts.Check = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{opts: opts, rejected: opts.Table + catalog.RejectedSuffix, log: log.With("table", opts.Table, "topic", opts.Config.Topic),
		using: map[int32]bool{}, ends: map[int32]int64{}, done: make(chan struct{})}
	var ok bool
	if s.schema, ok = opts.Sink.Schema(opts.Table); !ok {
		return nil, fmt.Errorf("%w: table %s is not writable", ErrSource, opts.Table)
	}
	if s.rschema, ok = opts.Sink.Schema(s.rejected); !ok {
		return nil, fmt.Errorf("%w: table %s has no table %s for rejected messages", ErrSource, opts.Table, s.rejected)
	}
	_, decl, _ := opts.Sink.Decl(opts.Table)
	var notNull []string
	for _, c := range decl.Columns {
		if c.NotNull {
			notNull = append(notNull, c.Name)
		}
	}
	var err error
	if s.dec, err = newDecoder(opts.Config, s.schema, notNull); err != nil {
		return nil, fmt.Errorf("%w: table %s: %w", ErrSource, opts.Table, err)
	}
	s.pos = opts.Sink.Positions(opts.Table)
	s.rejPos = opts.Sink.Positions(s.rejected)
	if s.admin, err = kgo.NewClient(kgo.SeedBrokers(opts.Config.Brokers...)); err != nil {
		return nil, fmt.Errorf("%w: table %s: %w", ErrSource, opts.Table, err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go s.run(ctx)
	return s, nil
}

// Close stops reading and waits for a write under way.
func (s *Source) Close() {
	s.stop()
	<-s.done
	s.mu.Lock()
	if s.cl != nil {
		s.cl.Close()
	}
	s.mu.Unlock()
	s.admin.Close()
}

// Stats describe a source for metrics.
type Stats struct {
	Table, Topic string
	// Rows and Rejected are messages written to the table and to its
	// rejected table since the start; Failures are fetch and write errors.
	Rows, Rejected, Failures int64
	// Lag is, by partition, the messages in the topic not written yet (as
	// of the last check).
	Lag map[int32]int64
	// Err is the last error seen ("" once a write succeeds again).
	Err string
}

// Stats reports the source's counters and lag.
func (s *Source) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Table: s.opts.Table, Topic: s.opts.Config.Topic, Rows: s.rows.Load(), Rejected: s.rejects.Load(),
		Failures: s.failures.Load(), Lag: map[int32]int64{}, Err: s.lastErr}
	for p, end := range s.ends {
		next, ok := s.pos[key(s.opts.Config.Topic, p)]
		if !ok {
			next = 0
		}
		st.Lag[p] = max(end-next, 0)
	}
	return st
}

func key(topic string, p int32) string { return topic + "/" + strconv.Itoa(int(p)) }

// run reads until ctx ends.
func (s *Source) run(ctx context.Context) {
	defer close(s.done)
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("kafka source stopped", "panic", p)
		}
	}()
	var lastCheck time.Time
	for ctx.Err() == nil {
		if time.Since(lastCheck) >= s.opts.Check {
			lastCheck = time.Now()
			if err := s.check(ctx); err != nil && ctx.Err() == nil {
				s.fail("looking up the topic", err)
			}
		}
		s.mu.Lock()
		cl := s.cl
		s.mu.Unlock()
		if cl == nil {
			wait(ctx, s.opts.Check)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, s.opts.Check)
		fetches := cl.PollRecords(pctx, s.opts.MaxPoll)
		cancel()
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				s.fail(fmt.Sprintf("fetching partition %d", p), err)
			}
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		// A write the disk refuses is tried again, and nothing more is
		// read meanwhile (the client's buffers bound what waits).
		for ctx.Err() == nil {
			err := s.write(ctx, recs)
			if err == nil {
				s.mu.Lock()
				s.lastErr = ""
				s.mu.Unlock()
				break
			}
			if ctx.Err() != nil {
				return
			}
			s.fail("writing", err)
			wait(ctx, time.Second)
		}
	}
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (s *Source) fail(what string, err error) {
	s.failures.Add(1)
	s.mu.Lock()
	s.lastErr = what + ": " + err.Error()
	s.mu.Unlock()
	s.log.Warn("kafka source: "+what, "err", err)
}

// check finds the topic's partitions and their ends: partitions not read
// yet are added to the consumer (which is made at the first check that
// finds the topic).
func (s *Source) check(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(s.admin).ListEndOffsets(cctx, s.opts.Config.Topic)
	if err != nil {
		return err
	}
	topic := s.opts.Config.Topic
	fresh := map[int32]kgo.Offset{}
	var latest live.Positions
	var firstErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			if firstErr == nil {
				firstErr = o.Err
			}
			return
		}
		s.mu.Lock()
		s.ends[o.Partition] = o.Offset
		using := s.using[o.Partition]
		next, known := s.pos[key(topic, o.Partition)]
		s.mu.Unlock()
		if using {
			return
		}
		switch {
		case known:
			fresh[o.Partition] = kgo.NewOffset().At(next)
		case s.opts.Config.Start == "latest":
			// Where "latest" is, made durable before reading from it: a
			// restart resumes there, not at a later end.
			if latest == nil {
				latest = live.Positions{}
			}
			latest[key(topic, o.Partition)] = o.Offset
			fresh[o.Partition] = kgo.NewOffset().At(o.Offset)
		default:
			fresh[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(fresh) == 0 {
		if firstErr != nil {
			return firstErr
		}
		return nil
	}
	if latest != nil {
		if _, err := s.opts.Sink.AppendAt(ctx, s.opts.Table, nil, latest); err != nil {
			return err
		}
		s.mu.Lock()
		s.pos = s.pos.Merge(latest)
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range fresh {
		s.using[p] = true
	}
	parts := map[string]map[int32]kgo.Offset{topic: fresh}
	if s.cl == nil {
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.opts.Config.Brokers...), kgo.ConsumePartitions(parts),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		if err != nil {
			for p := range fresh {
				delete(s.using, p)
			}
			return err
		}
		s.cl = cl
		ps := make([]int, 0, len(fresh))
		for p := range fresh {
			ps = append(ps, int(p))
		}
		sort.Ints(ps)
		s.log.Info("kafka source reading", "partitions", ps)
		return nil
	}
	s.cl.AddConsumePartitions(parts)
	s.log.Info("kafka source reading new partitions", "count", len(fresh))
	return nil
}

// write writes one poll's messages: the rejected ones to the rejected
// table, then the rest to the table with the positions after all of them,
// in one write-ahead log record. A restart resumes from those positions;
// messages rejected before a crash that comes between the two writes are
// not rejected twice (the rejected table keeps its own positions).
func (s *Source) write(ctx context.Context, recs []*kgo.Record) error {
	s.mu.Lock()
	pos, rejPos := s.pos, s.rejPos
	s.mu.Unlock()
	topic := s.opts.Config.Topic
	var keep []*kgo.Record
	after := live.Positions{}
	for _, r := range recs {
		k := key(topic, r.Partition)
		if next, ok := pos[k]; ok && r.Offset < next {
			continue // written before
		}
		keep = append(keep, r)
		after[k] = max(after[k], r.Offset+1)
	}
	if len(keep) == 0 {
		return nil
	}
	if p, ok := s.dec.(preparer); ok {
		if err := p.prepare(ctx, keep); err != nil {
			return err
		}
	}
	batches, bad := s.dec.decode(keep)
	defer release(batches)
	if err := s.reject(ctx, bad, rejPos); err != nil {
		return err
	}
	n, err := s.opts.Sink.AppendAt(ctx, s.opts.Table, nonEmpty(batches), after)
	if errors.Is(err, live.ErrWrite) {
		// DuckDB refused a value (NOT NULL, a number too big): each
		// message is written on its own to find which.
		return s.writeEach(ctx, keep, bad, after)
	}
	if err != nil {
		return err
	}
	s.advance(after, nil)
	s.rows.Add(n)
	return nil
}

// writeEach writes messages one by one, rejecting those the table refuses.
func (s *Source) writeEach(ctx context.Context, recs []*kgo.Record, bad []rejection, after live.Positions) error {
	skip := map[*kgo.Record]bool{}
	for _, b := range bad {
		skip[b.rec] = true
	}
	for _, r := range recs {
		if skip[r] {
			continue
		}
		through := live.Positions{key(r.Topic, r.Partition): r.Offset + 1}
		batches, bad := s.dec.decode([]*kgo.Record{r})
		n, err := int64(0), error(nil)
		if b := nonEmpty(batches); len(b) > 0 {
			n, err = s.opts.Sink.AppendAt(ctx, s.opts.Table, b, through)
		}
		release(batches)
		switch {
		case errors.Is(err, live.ErrWrite):
			bad = append(bad, rejection{rec: r, err: strings.TrimPrefix(err.Error(), live.ErrWrite.Error()+": ")})
		case err != nil:
			return err
		case n > 0:
			s.advance(through, nil)
			s.rows.Add(n)
		}
		s.mu.Lock()
		rejPos := s.rejPos
		s.mu.Unlock()
		if err := s.reject(ctx, bad, rejPos); err != nil {
			return err
		}
	}
	// The positions after the whole poll (its last messages may have been
	// rejected).
	if _, err := s.opts.Sink.AppendAt(ctx, s.opts.Table, nil, after); err != nil {
		return err
	}
	s.advance(after, nil)
	return nil
}

func (s *Source) advance(pos, rej live.Positions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pos = s.pos.Merge(pos)
	s.rejPos = s.rejPos.Merge(rej)
}

// reject writes rejected messages to the rejected table, except those it
// holds already (rejPos).
func (s *Source) reject(ctx context.Context, bad []rejection, rejPos live.Positions) error {
	var todo []rejection
	through := live.Positions{}
	for _, b := range bad {
		k := key(b.rec.Topic, b.rec.Partition)
		if next, ok := rejPos[k]; ok && b.rec.Offset < next {
			continue
		}
		todo = append(todo, b)
		through[k] = max(through[k], b.rec.Offset+1)
	}
	if len(todo) == 0 {
		return nil
	}
	batch := rejectedBatch(s.rschema, todo)
	defer batch.Release()
	n, err := s.opts.Sink.AppendAt(ctx, s.rejected, []arrow.RecordBatch{batch}, through)
	if err != nil {
		return fmt.Errorf("table %s: %w", s.rejected, err)
	}
	s.advance(nil, through)
	s.rejects.Add(n)
	for _, b := range todo {
		s.log.Debug("kafka message rejected", "partition", b.rec.Partition, "offset", b.rec.Offset, "err", b.err)
	}
	return nil
}

func release(batches []arrow.RecordBatch) {
	for _, b := range batches {
		b.Release()
	}
}

// nonEmpty drops batches without rows.
func nonEmpty(batches []arrow.RecordBatch) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for _, b := range batches {
		if b.NumRows() > 0 {
			out = append(out, b)
		}
	}
	return out
}

// rejectedBatch is the rows of the rejected table for bad (its columns
// are catalog.RejectedColumns).
func rejectedBatch(schema *arrow.Schema, bad []rejection) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, r := range bad {
		for i, f := range schema.Fields() {
			fb := b.Field(i)
			var err error
			switch strings.ToLower(f.Name) {
			case "topic":
				err = fb.AppendValueFromString(r.rec.Topic)
			case "partition":
				err = fb.AppendValueFromString(strconv.Itoa(int(r.rec.Partition)))
			case "offset":
				err = fb.AppendValueFromString(strconv.FormatInt(r.rec.Offset, 10))
			case "timestamp":
				if r.rec.Timestamp.IsZero() {
					fb.AppendNull()
				} else {
					err = fb.AppendValueFromString(r.rec.Timestamp.UTC().Format("2006-01-02T15:04:05.999999"))
				}
			case "key":
				appendBytes(fb, r.rec.Key)
			case "value":
				appendBytes(fb, r.rec.Value)
			case "error":
				err = fb.AppendValueFromString(r.err)
			default:
				fb.AppendNull()
			}
			if err != nil {
				fb.AppendNull()
			}
		}
	}
	return b.NewRecordBatch()
}

func appendBytes(b array.Builder, v []byte) {
	if bb, ok := b.(*array.BinaryBuilder); ok && v != nil {
		bb.Append(v)
		return
	}
	b.AppendNull()
}
