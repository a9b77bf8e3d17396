"""Scale-out benchmark: qry replicas as separate processes, each with
DuckDB on one thread and pinned to a CPU of its own, measured against one
replica in the same run:

1. Dask reading a scan-and-filter query through 8 partitions, with the
   parts spread over 2 replicas (each endpoint lists both, a different one
   first), against the same over 1 replica. Target: >= 1.6x throughput.
2. The cost of endpoints on one replica: the same query read as 8
   endpoints one after another, against 1 endpoint. Target: <= 10%.
3. Queries per second from 8 client processes through one address
   (HAProxy in TCP mode, round robin per connection, as a Kubernetes
   Service balances), with 2 replicas behind it against 1. Target: >= 1.7x.

Every answer is checked against DuckDB (the Python package) reading the
same files. Prints one markdown table.

    benchmarks/scale/run.sh [ROWS_PER_FILE]
"""
import contextlib
import multiprocessing as mp
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import duckdb

import qry
import qry.dask

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "benchmarks" / "data" / "scale"
FILES = 16
SECRET = "benchmark-ticket-secret-0123456789abcdef"
SCAN = "SELECT id, v FROM t WHERE s LIKE '%777%' AND v > 10"
# A lighter query, pruned to one file by its id range.
POINT = "SELECT count(*), sum(v) FROM t WHERE id < 1000000 AND s LIKE '%4242%'"


def make_data(rows):
    d = DATA / f"r{rows}"
    if (d / "t" / f"f{FILES - 1:02d}.parquet").exists():
        return d
    (d / "t").mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        duckdb.sql(
            f"COPY (SELECT i AS id, (i % 97)::DOUBLE AS v, md5(i::VARCHAR) AS s FROM range({i * rows}, {(i + 1) * rows}) r(i)) "
            f"TO '{d / 't' / f'f{i:02d}.parquet'}' (FORMAT parquet, ROW_GROUP_SIZE 100000)")
    return d


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    def __init__(self, qry_bin, data, port, cpu, advertise):
        self.url = f"grpc://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix="qry-scale-", suffix=".log", delete=False)
        cmd = [str(qry_bin), "serve", "--data", str(data), "--listen", f"127.0.0.1:{port}", "--threads", "1",
               "--result-cache", "0", "--max-concurrent", "8", "--cache-dir", tempfile.mkdtemp(prefix="qry-scale-cache-"),
               "--advertise", ",".join(advertise)]
        if shutil.which("taskset"):
            cmd = ["taskset", "-c", str(cpu)] + cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, QRY_TICKET_SECRET=SECRET))
        deadline = time.time() + 120
        while "serving" not in pathlib.Path(self.log.name).read_text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("qry serve did not start: " + pathlib.Path(self.log.name).read_text())
            time.sleep(0.05)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


@contextlib.contextmanager
def replicas(qry_bin, data, n):
    ports = [free_port() for _ in range(n)]
    urls = [f"grpc://127.0.0.1:{p}" for p in ports]
    rs = []
    try:
        for i, p in enumerate(ports):
            rs.append(Replica(qry_bin, data, p, i % os.cpu_count(), urls))
        yield rs
    finally:
        for r in rs:
            r.stop()


@contextlib.contextmanager
def haproxy(backends):
    """One address in front of the replicas: HAProxy, TCP mode, round robin
    per connection."""
    port = free_port()
    cfg = tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False)
    cfg.write("global\n  maxconn 1000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 600s\n  timeout server 600s\n"
              f"frontend f\n  bind 127.0.0.1:{port}\n  default_backend b\nbackend b\n  balance roundrobin\n")
    for i, b in enumerate(backends):
        cfg.write(f"  server s{i} {b.removeprefix('grpc://')}\n")
    cfg.close()
    proc = subprocess.Popen(["haproxy", "-f", cfg.name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.time() > deadline:
            raise RuntimeError("haproxy did not start")
        time.sleep(0.05)
    try:
        yield f"grpc://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def best(fn, runs=3):
    times = []
    out = None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def dask_read(uri, want):
    df = qry.dask.read_sql(SCAN, uri, partitions=8).compute()
    assert len(df) == want[0] and abs(float(df["v"].sum()) - want[1]) < 1e-6 * max(1, want[1]), (len(df), want)
    return len(df)


def client_loop(uri, seconds, want, out):
    try:
        import pyarrow.flight as flight
        c = flight.FlightClient(uri)  # one connection: HAProxy sends it to one replica
        n, start = 0, time.time()
        end = start + seconds
        while time.time() < end:
            info = c.get_flight_info(flight.FlightDescriptor.for_command(POINT))
            t = c.do_get(info.endpoints[0].ticket).read_all()
            row = (t.column(0)[0].as_py(), t.column(1)[0].as_py())
            assert row[0] == want[0], (row, want)
            n += 1
        out.put(n / (time.time() - start))
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        out.put(repr(e))


def qps(uri, want, clients=8, seconds=8):
    # Spawned, not forked: this process holds gRPC and Dask threads.
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    ps = [ctx.Process(target=client_loop, args=(uri, seconds, want, out)) for _ in range(clients)]
    for p in ps:
        p.start()
    counts = [out.get(timeout=seconds + 120) for _ in ps]
    for p in ps:
        p.join()
    errors = [c for c in counts if not isinstance(c, float)]
    if errors:
        raise RuntimeError(f"clients failed: {errors}")
    return sum(counts)  # each client's queries per second, over its own time


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    qry_bin = pathlib.Path(os.environ["QRY_BIN"])
    data = make_data(rows)
    ref = duckdb.connect()
    ref.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{data / 't'}/*.parquet')")
    want_scan = ref.execute(f"SELECT count(*), sum(v) FROM ({SCAN})").fetchone()
    want_point = ref.execute(POINT).fetchone()
    import distributed

    res = {}
    with distributed.LocalCluster(n_workers=4, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        for n in (1, 2):
            with replicas(qry_bin, data, n) as rs:
                dask_read(rs[0].url, want_scan)  # warm: catalogs, page cache, workers
                res[f"dask{n}"], _ = best(lambda: dask_read(rs[0].url, want_scan))
                if n == 1:
                    url = rs[0].url

                    def sequential(parts):
                        plan = qry.partitions(SCAN, url, partitions=parts)
                        assert len(plan.parts) == parts
                        got = sum(qry.read_partition(p).num_rows for p in plan.parts)
                        assert got == want_scan[0]
                    sequential(1)
                    res["seq1"], _ = best(lambda: sequential(1), 5)
                    res["seq8"], _ = best(lambda: sequential(8), 5)
                with haproxy([r.url for r in rs]) as front:
                    qps(front, want_point, seconds=2)  # warm
                    res[f"qps{n}"] = qps(front, want_point)

    total = FILES * rows
    print(f"\n{FILES} Parquet files, {total:,} rows; scan-and-filter `{SCAN}` keeps {want_scan[0]:,} rows.")
    print("Each replica: qry serve --threads 1, pinned to its own CPU (taskset), --result-cache 0.\n")
    print("| measure | 1 replica | 2 replicas | ratio | target |")
    print("|---|---:|---:|---:|---|")
    print(f"| Dask, 8 partitions, 4 workers: rows/s | {total / res['dask1']:,.0f} | {total / res['dask2']:,.0f} | "
          f"{res['dask1'] / res['dask2']:.2f}x | >= 1.6x |")
    print(f"| queries/s, 8 clients through HAProxy | {res['qps1']:.1f} | {res['qps2']:.1f} | {res['qps2'] / res['qps1']:.2f}x | >= 1.7x |")
    print()
    print("| one replica, read one after another | seconds | vs 1 endpoint | target |")
    print("|---|---:|---:|---|")
    print(f"| 1 endpoint | {res['seq1']:.3f} | 1.00 | |")
    print(f"| 8 endpoints | {res['seq8']:.3f} | {res['seq8'] / res['seq1']:.2f} | <= 1.10 |")


if __name__ == "__main__":
    main()
