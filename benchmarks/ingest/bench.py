"""Ingest throughput into a qry writable table, and query latency on it with
and without the aggregate cache. Run by benchmarks/ingest/run.sh.

Usage: bench.py GRPC_URL HTTP_URL TABLE_ROOT ROWS
"""
import sys
import time
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

url, http, root, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


def narrow(first, n):
    """n narrow rows: BIGINT id, TIMESTAMP, INTEGER sensor, DOUBLE value (28 bytes)."""
    ids = np.arange(first, first + n, dtype=np.int64)
    return pa.table({
        "id": ids,
        "ts": pa.array(ids * 1_000_000 + 1_700_000_000_000_000, type=pa.timestamp("us")),
        "sensor": pa.array((ids % 1000).astype(np.int32)),
        "value": pa.array(ids * 0.25),
    })


def count(cur):
    cur.execute("SELECT count(*) FROM readings")
    return cur.fetchone()[0]


rows_out = []


def row(name, rows, nbytes, seconds, base):
    rows_out.append((name, rows, nbytes, seconds, base))


def duckdb_inserts(tables):
    """The baseline: DuckDB in process inserting the same Arrow tables, one
    INSERT per request, into an in-memory table (no network, no log)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT NOT NULL, ts TIMESTAMP, sensor INTEGER, value DOUBLE)")
    t0 = time.perf_counter()
    for batch in tables:
        con.execute("INSERT INTO t SELECT * FROM batch")
    dt = time.perf_counter() - t0
    con.close()
    return dt


with flight_sql.connect(url) as conn, conn.cursor() as cur:
    next_id = count(cur)
    results = []
    # Bulk ingest (adbc_ingest = Flight SQL DoPut ingest) at three request sizes.
    for per in (10_000, 100_000, 1_000_000):
        # Batches of at most 65,536 rows: the ADBC driver sends at most 16 MiB a message.
        tables = [pa.Table.from_batches(narrow(next_id + i * per, per).to_batches(max_chunksize=65536))
                  for i in range(max(1, total // per))]
        n = sum(t.num_rows for t in tables)
        nbytes = sum(t.nbytes for t in tables)
        floor = duckdb_inserts(tables)
        t0 = time.perf_counter()
        for t in tables:
            assert cur.adbc_ingest("readings", t, mode="append") == t.num_rows
        dt = time.perf_counter() - t0
        next_id += n
        results.append((f"adbc_ingest, {per:,} rows/request", n, nbytes, dt, floor))
    # Arrow IPC over HTTP POST, 100,000 rows a request.
    per = 100_000
    tables = [narrow(next_id + i * per, per) for i in range(max(1, total // per // 2))]
    bodies = []
    for t in tables:
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        bodies.append(sink.getvalue().to_pybytes())
    floor = duckdb_inserts(tables)
    t0 = time.perf_counter()
    for b in bodies:
        req = urllib.request.Request(http + "/v1/tables/readings/rows", data=b,
                                     headers={"Content-Type": "application/vnd.apache.arrow.stream"}, method="POST")
        urllib.request.urlopen(req).read()
    dt = time.perf_counter() - t0
    n = sum(t.num_rows for t in tables)
    next_id += n
    results.append(("HTTP POST Arrow IPC, 100,000 rows", n, sum(t.nbytes for t in tables), dt, floor))
    # INSERT batches: a prepared INSERT with 1,000 parameter rows a request.
    per, reqs = 1_000, 50
    t0 = time.perf_counter()
    n = 0
    nbytes = 0
    tables = []
    for r in range(reqs):
        t = narrow(next_id, per)
        tables.append(t)
        cur.executemany("INSERT INTO readings (id, ts, sensor, value) VALUES (?, ?, ?, ?)", t)
        next_id += per
        n += per
        nbytes += t.nbytes
    dt = time.perf_counter() - t0
    floor = duckdb_inserts(tables)
    results.append(("prepared INSERT, 1,000 rows/request", n, nbytes, dt, floor))
    assert count(cur) == next_id, (count(cur), next_id)

# Query latency on the writable table (archive + live), without and with
# the result cache. A trailing comment makes each uncached run a new
# statement, so it always misses.
AGG = "SELECT sensor, count(*), avg(value), max(ts) FROM readings GROUP BY sensor ORDER BY sensor"
def live_rows():
    with urllib.request.urlopen(http + "/metrics") as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("qry_live_rows "):
                return float(line.split()[1])


deadline = time.time() + 60
while live_rows() and time.time() < deadline:  # let the ticks archive the ingest
    time.sleep(0.2)
lat = []
with flight_sql.connect(url) as conn, conn.cursor() as cur:
    def timed(q, n):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            cur.execute(q)
            cur.fetch_arrow_table()
            out.append(time.perf_counter() - t0)
        return sorted(out)[len(out) // 2]
    cur.execute("SELECT count(*) FROM readings")
    table_rows = cur.fetchone()[0]
    uncached = []
    for i in range(7):
        t0 = time.perf_counter()
        cur.execute(f"{AGG} -- run {i}")
        cur.fetch_arrow_table()
        uncached.append(time.perf_counter() - t0)
    miss = sorted(uncached)[len(uncached) // 2]
    timed(AGG, 1)  # fills the cache
    hit = timed(AGG, 21)
    # A write makes the next run a miss again; the one after hits.
    after, again = [], []
    for i in range(5):
        cur.adbc_ingest("readings", narrow(next_id + 10 * i, 10), mode="append")
        after.append(timed(AGG, 1))
        again.append(timed(AGG, 1))
    after_write, hit_again = sorted(after)[2], sorted(again)[2]
    lat = [("no cache (median of 7)", miss), ("cached (median of 21)", hit),
           ("first run after a write (5)", after_write), ("the run after that (5)", hit_again)]

print(f"{'ingest (one request = one write)':<38}{'rows':>11}{'seconds':>9}{'Mrows/s':>9}{'MB/s':>8}{'vs DuckDB':>14}")
for name, n, nbytes, dt, floor in results:
    print(f"{name:<38}{n:>11,}{dt:>9.2f}{n / dt / 1e6:>9.2f}{nbytes / dt / 1e6:>8.0f}{floor / dt:>14.2f}")

print()
print(f"grouped aggregate over {table_rows:,} rows (1,000 groups), through Flight SQL")
print(f"{'query':<30}{'ms':>9}{'vs no cache':>13}")
for name, dt in lat:
    print(f"{name:<30}{dt * 1000:>9.1f}{miss / dt:>13.1f}")
