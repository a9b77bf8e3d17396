// Command load is a bounded load test on loopback: N clients for a fixed
// time mix point lookups and aggregates against a sandboxed qry server over
// Flight SQL, while one misbehaving client opens streams it never reads,
// hangs up mid-stream and sends bad SQL. It prints throughput and p50/p99
// latency, and fails if any good query failed or if goroutines or memory
// grew once the load was over.
//
//	go run -tags duckdb_arrow ./benchmarks/load [-clients 32] [-duration 60s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	fsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/qry-dev/qry/catalog"
	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/server/flightsql"
)

func main() {
	clients := flag.Int("clients", 32, "well-behaved clients")
	duration := flag.Duration("duration", 60*time.Second, "how long the load runs")
	flag.Parse()
	if err := run(*clients, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(clients int, duration time.Duration) error {
	ctx := context.Background()
	cache, err := os.MkdirTemp("", "qry-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	cat, err := catalog.Open(ctx, catalog.Options{Data: []string{filepath.Join("testdata", "sample")}, CacheDir: cache})
	if err != nil {
		return err
	}
	defer cat.Close()
	eng, err := engine.Open(ctx, cat, engine.Options{Sandbox: true, MaxConns: 8, MaxQueue: 256, SandboxDir: cache})
	if err != nil {
		return err
	}
	defer eng.Close()
	srv, err := flightsql.New(eng, flightsql.Options{QueryTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	ready := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() {
		served <- flightsql.Serve(sctx, srv, flightsql.ServeOptions{Addr: "127.0.0.1:0", Ready: func(a net.Addr) { ready <- a }})
	}()
	addr := (<-ready).String()

	queries := []string{
		"SELECT * FROM trips WHERE year = 2024 AND month = %d AND trip_id = %d",
		"SELECT zone_id, count(*), round(avg(fare), 2) FROM trips WHERE year = 2023 AND month = %d AND trip_id >= %d GROUP BY 1 ORDER BY 1",
		"SELECT z.name, count(*) FROM trips t JOIN zones z USING (zone_id) WHERE t.month = %d AND t.trip_id > %d GROUP BY 1",
		"SELECT count(*) FROM trips WHERE month = %d AND %d >= 0",
	}
	// warm up, then measure the baseline
	if err := query(ctx, addr, fmt.Sprintf(queries[1], 1, 0)); err != nil {
		return err
	}
	runtime.GC()
	runtime.GC()
	goroutines0 := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapInuse

	deadline := time.Now().Add(duration)
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed))
			cl, err := fsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			defer cl.Close()
			for time.Now().Before(deadline) {
				q := fmt.Sprintf(queries[rng.Intn(len(queries))], 1+rng.Intn(12), rng.Intn(3000))
				start := time.Now()
				if err := runOn(ctx, cl, q); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				d := time.Since(start)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}(int64(c))
	}
	var misbehaved atomic.Int64
	wg.Add(1)
	go func() { // the misbehaving client
		defer wg.Done()
		for i := 0; time.Now().Before(deadline); i++ {
			cl, err := fsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				continue
			}
			switch i % 3 {
			case 0: // opens a big stream and never reads it
				qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				if info, err := cl.Execute(qctx, "SELECT i, repeat('x', 200) FROM range(50000000) r(i)"); err == nil {
					if rd, err := cl.DoGet(qctx, info.Endpoint[0].Ticket); err == nil {
						<-qctx.Done()
						rd.Release()
					}
				}
				cancel()
			case 1: // hangs up mid-stream
				if info, err := cl.Execute(ctx, "SELECT * FROM range(100000000)"); err == nil {
					if rd, err := cl.DoGet(ctx, info.Endpoint[0].Ticket); err == nil {
						rd.Next()
					}
				}
			case 2: // bad and hostile SQL
				for _, q := range []string{"SELEC 1", "SELECT * FROM read_csv('/etc/passwd')", "COPY trips TO '/tmp/x.csv'", "SELECT 1; SELECT 2"} {
					_, _ = cl.Execute(ctx, q)
				}
			}
			cl.Close()
			misbehaved.Add(1)
		}
	}()
	wg.Wait()

	// Let abandoned streams time out and redeemed tickets expire, then look
	// for growth (two collections empty the allocation pools).
	time.Sleep(7 * time.Second)
	srv.Sweep()
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	goroutines1, heap1 := runtime.NumGoroutine(), ms.HeapInuse
	running := srv.Running()
	stop()
	if err := <-served; err != nil {
		return err
	}

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(p*float64(len(lat)-1))]
	}
	fmt.Printf("clients: %d good + 1 misbehaving (%d misbehaviours), %s, %d cores\n", clients, misbehaved.Load(), duration, runtime.NumCPU())
	fmt.Printf("%-28s %12s\n", "queries ok", fmt.Sprint(len(lat)))
	fmt.Printf("%-28s %12d\n", "queries failed", failed.Load())
	fmt.Printf("%-28s %12.1f\n", "throughput (queries/s)", float64(len(lat))/duration.Seconds())
	fmt.Printf("%-28s %12s\n", "latency p50", pct(0.50).Round(10*time.Microsecond))
	fmt.Printf("%-28s %12s\n", "latency p99", pct(0.99).Round(10*time.Microsecond))
	fmt.Printf("%-28s %12s\n", "latency max", pct(1).Round(10*time.Microsecond))
	fmt.Printf("%-28s %6d -> %d\n", "goroutines before -> after", goroutines0, goroutines1)
	fmt.Printf("%-28s %6.1f -> %.1f\n", "heap in use MiB", float64(heap0)/(1<<20), float64(heap1)/(1<<20))
	fmt.Printf("%-28s %12d\n", "queries still running", running)
	var errs []error
	if failed.Load() > 0 {
		errs = append(errs, fmt.Errorf("%d good queries failed, first: %v", failed.Load(), firstErr.Load()))
	}
	if goroutines1 > goroutines0+10 {
		errs = append(errs, fmt.Errorf("goroutines grew from %d to %d", goroutines0, goroutines1))
	}
	if heap1 > heap0+64<<20 {
		errs = append(errs, fmt.Errorf("heap grew from %d to %d bytes", heap0, heap1))
	}
	if running != 0 {
		errs = append(errs, fmt.Errorf("%d queries still running", running))
	}
	return errors.Join(errs...)
}

func query(ctx context.Context, addr, q string) error {
	cl, err := fsql.NewClient(addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer cl.Close()
	return runOn(ctx, cl, q)
}

func runOn(ctx context.Context, cl *fsql.Client, q string) error {
	info, err := cl.Execute(ctx, q)
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	for _, ep := range info.Endpoint {
		rd, err := cl.DoGet(ctx, ep.Ticket)
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		for rd.Next() {
		}
		err = rd.Err()
		rd.Release()
		if err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
