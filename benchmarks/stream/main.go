// Command stream benchmarks streams, in one run:
//
//   - Kafka into a writable table: small JSON messages, already in a real
//     broker's topic, read into the table exactly once, in rows per
//     second; set against the live tier's own bulk append of the same rows
//     in 10,000-row Arrow batches (what a Flight DoPut ends in), measured
//     in the same run.
//
//   - Subscriptions: while a writer ingests over Flight (DoPut) at a set
//     rate, a subscriber over Flight receives the rows; the latency from
//     each write's acknowledgement to the subscriber receiving it (p50,
//     p99, max), and the writer's own latency and rate with and without
//     the subscriber.
//
//     go run -tags duckdb_arrow ./benchmarks/stream [-messages 1000000] [-rate 100000] [-seconds 10]
//
// The same rows also go in as Avro messages through a schema registry
// (Apicurio's, built by scripts/registry.sh; that line is skipped without
// it).
//
// It needs the Kafka jars of scripts/kafka.sh and Java (the Kafka part is
// skipped without them).
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/registry"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/client"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/kafkatest"
	qflight "github.com/qry-dev/qry/server/flightsql"
)

func main() {
	messages := flag.Int("messages", 1_000_000, "JSON messages in the Kafka topic")
	rate := flag.Int("rate", 100_000, "rows per second the writer ingests while a subscriber reads")
	batch := flag.Int("batch", 1000, "rows per write in the subscription run")
	seconds := flag.Int("seconds", 10, "length of each subscription run")
	flag.Parse()
	work, err := os.MkdirTemp("", "qry-stream-bench-")
	if err == nil {
		defer os.RemoveAll(work)
		err = runKafka(work, *messages)
	}
	if err == nil {
		err = runSubscribe(work, *rate, *batch, time.Duration(*seconds)*time.Second)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
}

const clicksYAML = `tables:
  - name: clicks
    path: clicks
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: user, type: VARCHAR}
      - {name: amount, type: DOUBLE}
      - {name: at, type: TIMESTAMP}
    writable: {tick: 10s}
`

func open(ctx context.Context, dir, yaml string) (*engine.Engine, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg, err := catalog.ParseConfig([]byte(yaml))
	if err != nil {
		return nil, err
	}
	cfg.Resolve(dir)
	cat, err := catalog.Open(ctx, catalog.Options{Config: cfg, CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		return nil, err
	}
	return engine.Open(ctx, cat, engine.Options{Sandbox: true, SandboxDir: filepath.Join(dir, "cache"), MaxConns: 4, Sources: true})
}

func count(ctx context.Context, eng *engine.Engine, table string) (int64, error) {
	r, err := eng.Query(ctx, "SELECT count(*) FROM "+table)
	if err != nil {
		return 0, err
	}
	defer r.Release()
	if !r.Next() {
		return 0, r.Err()
	}
	return r.RecordBatch().Column(0).(*array.Int64).Value(0), nil
}

func message(i int) []byte {
	return fmt.Appendf(nil, `{"id":%d,"user":"u%d","amount":%d.5,"at":"2024-05-01T10:%02d:%02d"}`, i, i%100, i%1000, i/60%60, i%60)
}

func runKafka(work string, n int) error {
	ctx := context.Background()
	libs, err := kafkatest.FindLibs()
	if err != nil {
		fmt.Printf("Kafka part skipped: %v (run scripts/kafka.sh)\n\n", err)
		return nil
	}
	broker, err := kafkatest.Launch(libs, filepath.Join(work, "kafka"))
	if err != nil {
		return err
	}
	defer broker.Stop()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	start := time.Now()
	if err := produce(ctx, cl, "clicks", n, message); err != nil {
		return err
	}
	produced := time.Since(start)
	kafkaTime, err := consume(ctx, filepath.Join(work, "kafka-table"), n,
		clicksYAML+fmt.Sprintf("    source:\n      kafka: {brokers: [%s], topic: clicks}\n", broker.Addr))
	if err != nil {
		return err
	}

	// The same rows as Avro, through a schema registry.
	var avroTime time.Duration
	if jar, err := kafkatest.FindRegistry(); err != nil {
		fmt.Printf("Avro line skipped: %v (run scripts/registry.sh)\n\n", err)
	} else {
		reg, err := kafkatest.LaunchRegistry(jar, filepath.Join(work, "registry.log"))
		if err != nil {
			return err
		}
		defer reg.Stop()
		avroMessage, err := avroMessages(ctx, reg.URL)
		if err != nil {
			return err
		}
		if err := produce(ctx, cl, "clicks_avro", n, avroMessage); err != nil {
			return err
		}
		avroTime, err = consume(ctx, filepath.Join(work, "avro-table"), n,
			clicksYAML+fmt.Sprintf("    source:\n      kafka: {brokers: [%s], topic: clicks_avro, format: avro, registry: %q}\n", broker.Addr, reg.URL))
		if err != nil {
			return err
		}
	}

	// The same rows appended in bulk.
	eng, err := open(ctx, filepath.Join(work, "append-table"), clicksYAML)
	if err != nil {
		return err
	}
	defer eng.Close()
	schema, _ := eng.Writable("clicks")
	var batches []arrow.RecordBatch
	for first := 0; first < n; first += 10_000 {
		batches = append(batches, clicksBatch(schema, first, min(10_000, n-first)))
	}
	start = time.Now()
	for _, b := range batches {
		if _, err := eng.Append(ctx, "clicks", []arrow.RecordBatch{b}); err != nil {
			return err
		}
		b.Release()
	}
	appendTime := time.Since(start)

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "ingest\trows\tseconds\trows/s\tvs append\t")
	line := func(name string, d time.Duration) {
		fmt.Fprintf(w, "%s\t%d\t%.2f\t%.0f\t%.2f\t\n", name, n, d.Seconds(), float64(n)/d.Seconds(), appendTime.Seconds()/d.Seconds())
	}
	line("Kafka JSON messages -> table", kafkaTime)
	if avroTime > 0 {
		line("Kafka Avro messages (registry) -> table", avroTime)
	}
	line("bulk append, 10,000-row batches", appendTime)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("(producing the %d messages into the broker took %.2f s; not counted)\n\n", n, produced.Seconds())
	return nil
}

// produce sends n messages (message(i)) to a new topic of two partitions.
func produce(ctx context.Context, cl *kgo.Client, topic string, n int, message func(int) []byte) error {
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, topic); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var perr error
	var mu sync.Mutex
	for i := range n {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: message(i)}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				perr = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	return perr
}

// consume is the time from opening an engine over yaml (a table fed from
// a topic of n messages) to the table counting them all.
func consume(ctx context.Context, dir string, n int, yaml string) (time.Duration, error) {
	start := time.Now()
	eng, err := open(ctx, dir, yaml)
	if err != nil {
		return 0, err
	}
	defer eng.Close()
	for {
		c, err := count(ctx, eng, "clicks")
		if err != nil {
			return 0, err
		}
		if c == int64(n) {
			return time.Since(start), nil
		}
		if c > int64(n) {
			return 0, fmt.Errorf("%d rows from %d messages", c, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// avroMessages registers the clicks' Avro schema and makes message i in
// Confluent's framing, with the values of message(i).
func avroMessages(ctx context.Context, url string) (func(int) []byte, error) {
	rc, err := registry.NewClient(url)
	if err != nil {
		return nil, err
	}
	id, schema, err := rc.CreateSchema(ctx, "clicks_avro-value", `{"type":"record","name":"click","fields":[
	  {"name":"id","type":"long"},{"name":"user","type":"string"},{"name":"amount","type":"double"},
	  {"name":"at","type":{"type":"long","logicalType":"timestamp-micros"}}]}`)
	if err != nil {
		return nil, err
	}
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	return func(i int) []byte {
		datum, err := avro.Marshal(schema, map[string]any{"id": int64(i), "user": fmt.Sprintf("u%d", i%100),
			"amount": float64(i%1000) + 0.5, "at": base.Add(time.Duration(i%3600) * time.Second)})
		if err != nil {
			panic(err)
		}
		out := make([]byte, 5, 5+len(datum))
		binary.BigEndian.PutUint32(out[1:], uint32(id))
		return append(out, datum...)
	}, nil
}

func clicksBatch(schema *arrow.Schema, first, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := first; i < first+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("u" + strconv.Itoa(i%100))
		b.Field(2).(*array.Float64Builder).Append(float64(i%1000) + 0.5)
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(base.Add(time.Duration(i%3600) * time.Second).UnixMicro()))
	}
	return b.NewRecordBatch()
}

const ticksYAML = `tables:
  - name: ticks
    path: ticks
    columns:
      - {name: w, type: BIGINT, not_null: true}
      - {name: id, type: BIGINT}
      - {name: px, type: DOUBLE}
    writable: {tick: 2s}
`

// runSubscribe measures ingest at rate without and with a subscriber.
func runSubscribe(work string, rate, batch int, d time.Duration) error {
	ctx := context.Background()
	eng, err := open(ctx, filepath.Join(work, "subscribe"), ticksYAML)
	if err != nil {
		return err
	}
	defer eng.Close()
	srv, err := qflight.New(eng, qflight.Options{})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	addrc := make(chan net.Addr, 1)
	go func() {
		_ = qflight.Serve(sctx, srv, qflight.ServeOptions{Addr: "127.0.0.1:0", Ready: func(a net.Addr) { addrc <- a }})
	}()
	addr := (<-addrc).String()

	type result struct {
		name                 string
		writes               int
		rate                 float64
		write99, p50, p99, x time.Duration
		delivered            bool
	}
	var results []result
	for _, withSub := range []bool{false, true} {
		var sub *client.Subscription
		var mu sync.Mutex
		recv := map[int64]time.Time{}
		var subDone chan error
		if withSub {
			c, err := client.Dial(ctx, "grpc://"+addr, client.Options{})
			if err != nil {
				return err
			}
			defer c.Close()
			if sub, err = c.Subscribe(ctx, "SELECT w, id FROM ticks", nil); err != nil {
				return err
			}
			if rec, _ := sub.Next(); rec == nil { // where it starts
				return sub.Err()
			}
			subDone = make(chan error, 1)
			go func() {
				for {
					rec, _ := sub.Next()
					if rec == nil {
						subDone <- sub.Err()
						return
					}
					now := time.Now()
					ws := rec.Column(0).(*array.Int64)
					mu.Lock()
					for i := range ws.Len() {
						if _, ok := recv[ws.Value(i)]; !ok {
							recv[ws.Value(i)] = now
						}
					}
					mu.Unlock()
				}
			}()
		}
		acks, took, err := ingest(ctx, addr, rate, batch, d, len(results)*1_000_000)
		if err != nil {
			return err
		}
		r := result{name: "ingest alone", writes: len(acks), rate: float64(len(acks)*batch) / took.Seconds()}
		var lat []time.Duration
		for _, a := range acks {
			lat = append(lat, a.ack.Sub(a.sent))
		}
		r.write99 = pct(lat, 0.99)
		if withSub {
			r.name, r.delivered = "ingest + subscriber", true
			// Until the subscriber has the last write.
			last := acks[len(acks)-1].w
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) {
				mu.Lock()
				_, ok := recv[last]
				mu.Unlock()
				if ok {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			sub.Close()
			if err := <-subDone; err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("subscriber: %w", err)
			}
			mu.Lock()
			defer mu.Unlock()
			var dl []time.Duration
			for _, a := range acks {
				t, ok := recv[a.w]
				if !ok {
					return fmt.Errorf("write %d never reached the subscriber", a.w)
				}
				dl = append(dl, max(t.Sub(a.ack), 0))
			}
			r.p50, r.p99, r.x = pct(dl, 0.50), pct(dl, 0.99), pct(dl, 1)
		}
		results = append(results, r)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "subscription, %d rows/s in %d-row writes\twrites\trows/s\twrite p99 ms\tack->subscriber p50 ms\tp99 ms\tmax ms\tp99 vs 100 ms goal\t\n", rate, batch)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	for _, r := range results {
		if r.delivered {
			fmt.Fprintf(w, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%.2f\t\n", r.name, r.writes, r.rate, ms(r.write99), ms(r.p50), ms(r.p99), ms(r.x), r.p99.Seconds()/0.1)
		} else {
			fmt.Fprintf(w, "%s\t%d\t%.0f\t%s\t-\t-\t-\t-\t\n", r.name, r.writes, r.rate, ms(r.write99))
		}
	}
	fmt.Fprintf(w, "writer rate with the subscriber / without\t\t%.2f\t\t\t\t\t\t\n", results[1].rate/results[0].rate)
	return w.Flush()
}

type ack struct {
	w         int64
	sent, ack time.Time
}

// ingest writes batch-row writes over Flight DoPut at rate rows/s for d,
// numbering writes from base, and returns each write's times.
func ingest(ctx context.Context, addr string, rate, batch int, d time.Duration, base int) ([]ack, time.Duration, error) {
	cl, err := flightsql.NewClientCtx(ctx, addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, 0, err
	}
	defer cl.Close()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "w", Type: arrow.PrimitiveTypes.Int64},
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "px", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	interval := time.Duration(float64(time.Second) * float64(batch) / float64(rate))
	var acks []ack
	start := time.Now()
	next := start
	for i := 0; time.Since(start) < d; i++ {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		next = next.Add(interval)
		w := int64(base + i)
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for j := range batch {
			b.Field(0).(*array.Int64Builder).Append(w)
			b.Field(1).(*array.Int64Builder).Append(w*int64(batch) + int64(j))
			b.Field(2).(*array.Float64Builder).Append(float64(j))
		}
		rec := b.NewRecordBatch()
		b.Release()
		rdr, _ := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
		sent := time.Now()
		_, err := cl.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{Table: "ticks", TableDefinitionOptions: &flightsql.TableDefinitionOptions{
			IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionFail, IfExists: flightsql.TableDefinitionOptionsTableExistsOptionAppend}})
		done := time.Now()
		rdr.Release()
		rec.Release()
		if err != nil {
			return nil, 0, fmt.Errorf("write %d: %w", w, err)
		}
		acks = append(acks, ack{w: w, sent: sent, ack: done})
	}
	return acks, time.Since(start), nil
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
