package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/qry-dev/qry/engine"
)

// Metrics are qry's Prometheus metrics. Query counters are fed by Observe
// (wire it to engine.Options.OnQueryDone); gauges are read from the engine
// and catalog at each scrape.
type Metrics struct {
	reg      *prometheus.Registry
	queries  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	rows     *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	files    *prometheus.CounterVec
	fromStat prometheus.Counter
	cached   prometheus.Counter
}

// NewMetrics returns metrics on a registry of their own, with the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qry_queries_total",
			Help: "Queries over, by front end and status (ok, invalid, forbidden, busy, timeout, canceled, error).",
		}, []string{"frontend", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "qry_query_duration_seconds",
			Help:    "Query time from arrival to the end of its result, by front end.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"frontend"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qry_result_rows_total",
			Help: "Rows returned, by front end.",
		}, []string{"frontend"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qry_result_bytes_total",
			Help: "Arrow bytes returned, by front end.",
		}, []string{"frontend"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qry_files_total",
			Help: "Catalog files met by queries' table references: scanned, or pruned from statistics and partitions.",
		}, []string{"outcome"}),
		fromStat: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qry_queries_from_stats_total",
			Help: "Queries answered from file statistics without opening a file.",
		}),
		cached: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qry_queries_cached_total",
			Help: "Queries answered from the result cache.",
		}),
	}
	m.reg.MustRegister(m.queries, m.latency, m.rows, m.bytes, m.files, m.fromStat, m.cached,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe counts a finished query.
func (m *Metrics) Observe(st engine.QueryStats) {
	fe := st.Origin.Frontend
	if fe == "" {
		fe = "other"
	}
	m.queries.WithLabelValues(fe, st.Status()).Inc()
	m.latency.WithLabelValues(fe).Observe(st.Duration.Seconds())
	m.rows.WithLabelValues(fe).Add(float64(st.Rows))
	m.bytes.WithLabelValues(fe).Add(float64(st.Bytes))
	if !st.Cached {
		m.files.WithLabelValues("scanned").Add(float64(st.FilesRead))
		m.files.WithLabelValues("pruned").Add(float64(st.Files - st.FilesRead))
	}
	if st.FromStats {
		m.fromStat.Inc()
	}
	if st.Cached {
		m.cached.Inc()
	}
}

// Gauge adds a gauge read from fn at each scrape.
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// WatchEngine adds gauges of eng's queries and catalog.
func (m *Metrics) WatchEngine(eng *engine.Engine) {
	m.reg.MustRegister(engineCollector{eng})
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the metrics live (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

var (
	descRunning   = prometheus.NewDesc("qry_queries_running", "Queries holding a DuckDB connection (running or streaming).", nil, nil)
	descWaiting   = prometheus.NewDesc("qry_queries_waiting", "Queries queued for a connection.", nil, nil)
	descMaxConns  = prometheus.NewDesc("qry_queries_max_running", "Queries that may run at once.", nil, nil)
	descTables    = prometheus.NewDesc("qry_catalog_tables", "Tables in the catalog.", nil, nil)
	descFiles     = prometheus.NewDesc("qry_catalog_files", "Data files in the catalog.", nil, nil)
	descBytes     = prometheus.NewDesc("qry_catalog_bytes", "Bytes of the catalog's data files.", nil, nil)
	descProblems  = prometheus.NewDesc("qry_catalog_problems", "Files and roots left out of the catalog.", nil, nil)
	descVersion   = prometheus.NewDesc("qry_catalog_version", "Catalog version: grows with each change seen.", nil, nil)
	descRefresh   = prometheus.NewDesc("qry_catalog_refresh_seconds", "Duration of the last catalog refresh.", nil, nil)
	descRefreshAt = prometheus.NewDesc("qry_catalog_last_refresh_timestamp_seconds", "When the last catalog refresh ended (Unix time).", nil, nil)
	descRefreshOK = prometheus.NewDesc("qry_catalog_last_refresh_success", "1 if the last catalog refresh succeeded.", nil, nil)
	descLiveRows  = prometheus.NewDesc("qry_live_rows", "Rows written to writable tables and not archived yet.", nil, nil)
	descLastTick  = prometheus.NewDesc("qry_live_last_tick_timestamp_seconds", "When the last tick archived live rows (Unix time).", nil, nil)
	descTicks     = prometheus.NewDesc("qry_live_ticks_total", "Ticks, by outcome.", []string{"outcome"}, nil)
	descCacheSize = prometheus.NewDesc("qry_result_cache_bytes", "Arrow bytes of the results in the result cache.", nil, nil)
	descCacheN    = prometheus.NewDesc("qry_result_cache_entries", "Results in the result cache.", nil, nil)
	descAccTables = prometheus.NewDesc("qry_accelerated_tables", "Tables with a copy in DuckDB's native storage.", nil, nil)
	descAccBytes  = prometheus.NewDesc("qry_accelerated_memory_bytes", "Memory the in-memory copies take.", nil, nil)
	descAccQuery  = prometheus.NewDesc("qry_accelerated_queries_total", "Queries that read a copy.", nil, nil)
	descAccFall   = prometheus.NewDesc("qry_accelerated_fallbacks_total", "Copies not built or dropped (too big for --accelerate-memory, failed): their tables are read from files.", nil, nil)
	descAccSync   = prometheus.NewDesc("qry_accelerated_in_sync", "1 when the copies hold the catalog as it is and no load or checkpoint is under way.", nil, nil)
	descAccLoaded = prometheus.NewDesc("qry_accelerated_files_loaded_total", "Files loaded into copies since the start.", nil, nil)
	descAccLag    = prometheus.NewDesc("qry_accelerated_refresh_lag_seconds", "From the last catalog change to its copies holding it.", nil, nil)
	descKafkaLag  = prometheus.NewDesc("qry_kafka_lag_messages", "Messages in a Kafka partition not written to its table yet (as of the last check).", []string{"table", "topic", "partition"}, nil)
	descKafkaRows = prometheus.NewDesc("qry_kafka_rows_total", "Rows written to tables from Kafka since the start.", []string{"table", "topic"}, nil)
	descKafkaRej  = prometheus.NewDesc("qry_kafka_rejected_total", "Kafka messages written to the rejected table since the start.", []string{"table", "topic"}, nil)
	descSubs      = prometheus.NewDesc("qry_subscriptions", "Subscriptions open (Flight and SSE).", nil, nil)
	descSubRows   = prometheus.NewDesc("qry_subscription_rows_total", "Rows delivered to subscribers since the start.", nil, nil)
	descSubSlow   = prometheus.NewDesc("qry_subscriptions_slow_total", "Subscribers cut off for not keeping up (told where to resume).", nil, nil)
	descKafkaErr  = prometheus.NewDesc("qry_kafka_errors_total", "Kafka fetch and write errors since the start (each retried).", []string{"table", "topic"}, nil)
)

type engineCollector struct{ eng *engine.Engine }

var _ prometheus.Collector = engineCollector{}

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRunning, descWaiting, descMaxConns, descTables, descFiles, descBytes,
		descProblems, descVersion, descRefresh, descRefreshAt, descRefreshOK, descLiveRows, descLastTick, descTicks,
		descCacheSize, descCacheN, descAccTables, descAccBytes, descAccQuery, descAccFall, descAccLoaded, descAccLag, descAccSync,
		descKafkaLag, descKafkaRows, descKafkaRej, descKafkaErr, descSubs, descSubRows, descSubSlow} {
		ch <- d
	}
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(descRunning, float64(c.eng.Running()))
	gauge(descWaiting, float64(c.eng.Waiting()))
	gauge(descMaxConns, float64(c.eng.MaxConns()))
	cs := c.eng.CacheStats()
	gauge(descCacheSize, float64(cs.Bytes))
	gauge(descCacheN, float64(cs.Entries))
	snap := c.eng.Catalog().Snapshot()
	var files, bytes, problems int
	for _, t := range snap.Tables {
		files += len(t.Files)
		problems += len(t.Problems)
		for _, f := range t.Files {
			bytes += int(f.Size)
		}
	}
	gauge(descTables, float64(len(snap.Tables)))
	gauge(descFiles, float64(files))
	gauge(descBytes, float64(bytes))
	gauge(descProblems, float64(problems+len(snap.Problems)))
	gauge(descVersion, float64(snap.Version))
	last := c.eng.Catalog().LastRefresh()
	gauge(descRefresh, last.Took.Seconds())
	if !last.At.IsZero() {
		gauge(descRefreshAt, float64(last.At.UnixNano())/float64(time.Second))
	}
	ok := 0.0
	if last.Err == nil {
		ok = 1
	}
	gauge(descRefreshOK, ok)
	if c.eng.Accelerating() {
		acc := c.eng.AccelStats()
		gauge(descAccTables, float64(acc.Tables))
		gauge(descAccBytes, float64(acc.MemoryBytes))
		gauge(descAccLag, acc.Lag.Seconds())
		inSync := 0.0
		if acc.InSync {
			inSync = 1
		}
		gauge(descAccSync, inSync)
		ch <- prometheus.MustNewConstMetric(descAccQuery, prometheus.CounterValue, float64(acc.Queries))
		ch <- prometheus.MustNewConstMetric(descAccFall, prometheus.CounterValue, float64(acc.Fallbacks))
		ch <- prometheus.MustNewConstMetric(descAccLoaded, prometheus.CounterValue, float64(acc.LoadedFiles))
	}
	if c.eng.HasWritable() {
		live := c.eng.LiveStats()
		gauge(descLiveRows, float64(live.LiveRows))
		if !live.LastTick.IsZero() {
			gauge(descLastTick, float64(live.LastTick.UnixNano())/float64(time.Second))
		}
		ch <- prometheus.MustNewConstMetric(descTicks, prometheus.CounterValue, float64(live.Ticks), "ok")
		ch <- prometheus.MustNewConstMetric(descTicks, prometheus.CounterValue, float64(live.Fails), "failed")
	}
	if c.eng.HasWritable() {
		subs := c.eng.SubscriptionStats()
		gauge(descSubs, float64(subs.Active))
		ch <- prometheus.MustNewConstMetric(descSubRows, prometheus.CounterValue, float64(subs.Rows))
		ch <- prometheus.MustNewConstMetric(descSubSlow, prometheus.CounterValue, float64(subs.Slow))
	}
	for _, k := range c.eng.SourceStats() {
		for p, lag := range k.Lag {
			ch <- prometheus.MustNewConstMetric(descKafkaLag, prometheus.GaugeValue, float64(lag), k.Table, k.Topic, strconv.Itoa(int(p)))
		}
		ch <- prometheus.MustNewConstMetric(descKafkaRows, prometheus.CounterValue, float64(k.Rows), k.Table, k.Topic)
		ch <- prometheus.MustNewConstMetric(descKafkaRej, prometheus.CounterValue, float64(k.Rejected), k.Table, k.Topic)
		ch <- prometheus.MustNewConstMetric(descKafkaErr, prometheus.CounterValue, float64(k.Failures), k.Table, k.Topic)
	}
}
