"""Flight throughput: the same large result read (a) from the Parquet file
directly, (b) through qry over Flight, (c) from a bare arrow-go Flight server
streaming the same batches from memory (the transport's ceiling here).

Prints rows/s, MB/s and ratios; run by benchmarks/flight/run.sh.
"""
import sys
import time

import pyarrow.flight as fl
import pyarrow.parquet as pq

parquet_file, qry_url, bare_url, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cached_url = sys.argv[5] if len(sys.argv) > 5 else None


def drain(reader):
    rows = nbytes = 0
    for chunk in reader:
        rows += chunk.data.num_rows
        nbytes += chunk.data.nbytes
    return rows, nbytes


def parquet():
    t = pq.read_table(parquet_file)
    return t.num_rows, t.nbytes


def qry(url=qry_url):
    c = fl.connect(url)
    info = c.get_flight_info(fl.FlightDescriptor.for_command(b"SELECT * FROM big"))
    out = drain(c.do_get(info.endpoints[0].ticket))
    c.close()
    return out


def bare():
    c = fl.connect(bare_url)
    out = drain(c.do_get(fl.Ticket(b"all")))
    c.close()
    return out


results = {}
sources = [("parquet file (pyarrow)", parquet), ("qry over Flight", qry), ("bare arrow-go Flight", bare)]
if cached_url:
    sources.append(("qry, result cache warm", lambda: qry(cached_url)))
for name, fn in sources:
    best = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows, nbytes = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    results[name] = (rows, nbytes, best)

base = results["bare arrow-go Flight"][2]
print(f"{'source':<26}{'rows':>12}{'seconds':>10}{'Mrows/s':>10}{'MB/s':>9}{'vs bare':>9}")
for name, (rows, nbytes, dt) in results.items():
    print(f"{name:<26}{rows:>12,}{dt:>10.3f}{rows / dt / 1e6:>10.2f}{nbytes / dt / 1e6:>9.0f}{base / dt:>9.2f}")
