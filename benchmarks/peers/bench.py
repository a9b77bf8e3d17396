"""TPC-H over the same Parquet files, side by side: DuckDB in-process (the
reference), qry serve (plain, and accelerated when the binary has
--accelerate), DataFusion and Polars in-process, and ROAPI, both servers
through the same ADBC Flight SQL client. Run by benchmarks/peers/run.sh,
which makes the venv, the data and the qry binary.

Each query runs once untimed (its answer is checked against DuckDB's), then
three times timed: a system's figure is the median of the three. A query a
system cannot run, or answers differently from DuckDB, counts as failed for
that system and is listed under the table with the error or the first
difference; it is never retried another way.
"""
import argparse
import json
import math
import os
import pathlib
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = pathlib.Path(__file__).resolve().parent
TABLES = ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier"]
RUNS = 3
# A query whose untimed run takes longer than this many seconds is timed
# once instead of three times (only matters at SF 10 and up).
SLOW = 60.0
# The query that measures a system's cost per query, and its runs.
TRIVIAL = "SELECT 1"
TRIVIAL_RUNS = 100
# Queries whose ORDER BY fixes the order of every row (or that return one
# row): their answers are compared row by row in the order given. The others
# (q03, q05, q10, q11, q18 order by a computed value that may tie) are
# compared after sorting the rows of both answers.
TOTAL_ORDER = {1, 2, 4, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22}
REL_TOL = 1e-6
# Decimal averages come back with 6 digits of scale from DataFusion and
# ROAPI (DuckDB's are doubles): 0.05 rounded to 1e-6 is within this.
ABS_TOL = 1e-6

SYSTEMS = [  # key, label
    ("duckdb", "DuckDB"),
    ("qry", "qry"),
    ("qry_accel", "qry accel"),
    ("datafusion", "DataFusion"),
    ("polars", "Polars"),
    ("roapi", "ROAPI"),
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on loopback. Its pid goes into PIDS_FILE so that
    run.sh's trap can stop it even if this process dies without cleaning up."""

    live = []

    def __init__(self, name, cmd, tmp, ready, timeout=120, env=None):
        self.name = name
        self.log_path = pathlib.Path(tmp) / f"{name}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=None if env is None else dict(os.environ, **env))
        Server.live.append(self)
        pids = os.environ.get("PEERS_PIDS_FILE")
        if pids:
            with open(pids, "a") as f:
                f.write(f"{self.proc.pid}\n")
        deadline = time.time() + timeout
        while True:
            text = self.log_path.read_text(errors="replace")
            m = ready(text)
            if m:
                self.url = m
                return
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"{name} exited at start:\n{text[-3000:]}")
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start in {timeout} s:\n{text[-3000:]}")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self in Server.live:
            Server.live.remove(self)

    def tail(self, n=2000):
        return self.log_path.read_text(errors="replace")[-n:]


def stop_all():
    for s in list(Server.live):
        s.stop()


def on_term(*_):
    # An exception raised here could land in a finalizer and be ignored:
    # stop the servers and leave at once (run.sh removes the temp files).
    for srv in list(Server.live):
        try:
            srv.proc.terminate()
        except OSError:
            pass
    for srv in list(Server.live):
        try:
            srv.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.proc.kill()
    os._exit(143)


def start_qry(qry, data, tmp, name, extra=(), env=None):
    cache = tempfile.mkdtemp(prefix=f"{name}-cache-", dir=tmp)
    # --result-cache 0: without it, the timed runs of a query would be
    # answered from qry's cache of whole results, measuring nothing but the
    # cache. Both qry systems run without it.
    cmd = [qry, "serve", "--data", data, "--listen", "127.0.0.1:0", "--cache-dir", cache,
           "--result-cache", "0", *extra]

    def ready(text):
        m = re.search(r"serving.* on (grpc://[\d.]+:\d+)", text)
        return m.group(1) if m else None

    srv = Server(name, cmd, tmp, ready, env=env)
    m = re.search(r"http on (http://[\d.]+:\d+)", srv.tail(100000))
    srv.http = m.group(1) if m else None
    return srv


def accel_metrics(server):
    """The qry_accelerated_* lines of the server's /metrics, as a dict."""
    import urllib.request
    if not server or not getattr(server, "http", None):
        return {}
    try:
        text = urllib.request.urlopen(server.http + "/metrics", timeout=10).read().decode()
    except OSError as e:
        return {"error": str(e)}
    out = {}
    for line in text.splitlines():
        if line.startswith("qry_accelerated_"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


def start_roapi(roapi, data, tmp):
    flight, http, pg = free_port(), free_port(), free_port()
    cmd = [roapi, "--addr-flight-sql", f"127.0.0.1:{flight}", "--addr-http", f"127.0.0.1:{http}",
           "--addr-postgres", f"127.0.0.1:{pg}"]
    # use_memory_table=false: ROAPI reads the Parquet files at each query,
    # like the others (its default copies every table into memory at start).
    for t in TABLES:
        cmd += ["--table", f"{t}={data}/{t},format=parquet,use_memory_table=false"]

    def ready(text):
        if "for FlightSQL traffic" not in text:
            return None
        try:
            socket.create_connection(("127.0.0.1", flight), timeout=1).close()
        except OSError:
            return None
        return f"grpc://127.0.0.1:{flight}"

    return Server("roapi", cmd, tmp, ready)


class Adbc:
    def __init__(self, url):
        import adbc_driver_flightsql.dbapi as fs
        self.conn = fs.connect(url, autocommit=True)

    def run(self, sql):
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            return cur.fetch_arrow_table()
        finally:
            cur.close()

    def close(self):
        self.conn.close()


class DuckDB:
    def __init__(self, data):
        import duckdb
        self.con = duckdb.connect()
        for t in TABLES:
            self.con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}/*.parquet')")

    def run(self, sql):
        return self.con.execute(sql).arrow().read_all()

    def close(self):
        self.con.close()


class DataFusion:
    def __init__(self, data):
        import datafusion
        self.ctx = datafusion.SessionContext()
        for t in TABLES:
            self.ctx.register_parquet(t, f"{data}/{t}/")

    def run(self, sql):
        return self.ctx.sql(sql).to_arrow_table()

    def close(self):
        pass


class Polars:
    def __init__(self, data):
        import polars as pl
        self.ctx = pl.SQLContext(frames={t: pl.scan_parquet(f"{data}/{t}/*.parquet") for t in TABLES})

    def run(self, sql):
        return self.ctx.execute(sql).collect().to_arrow()

    def close(self):
        pass


def first_line(e):
    text = f"{type(e).__name__}: {e}".strip()
    lines = [x for x in text.splitlines() if x.strip()]
    out = " ".join(lines[:3])
    return out[:400]


# ---- comparing answers -------------------------------------------------

def rows_of(table):
    """The table's rows as tuples, numbers as floats, strings as str."""
    cols = []
    for col in table.columns:
        t = col.type
        if pa.types.is_decimal(t) or pa.types.is_integer(t) or pa.types.is_floating(t):
            col = pc.cast(col, pa.float64(), safe=False)
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            col = pc.cast(col, pa.string())
        elif pa.types.is_dictionary(t):
            col = pc.cast(col, t.value_type)
        cols.append(col.to_pylist())
    return list(zip(*cols)) if cols else []


def sort_key(row):
    return tuple((0, "") if v is None else (1, v) for v in row)


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def compare(q, ref, got):
    """None if got answers as ref does, else what differs."""
    if got.num_columns != ref.num_columns:
        return f"{got.num_columns} columns, DuckDB {ref.num_columns}"
    if got.num_rows != ref.num_rows:
        return f"{got.num_rows} rows, DuckDB {ref.num_rows}"
    r, g = rows_of(ref), rows_of(got)
    if q not in TOTAL_ORDER:
        r, g = sorted(r, key=sort_key), sorted(g, key=sort_key)
    for i, (x, y) in enumerate(zip(r, g)):
        for j, (a, b) in enumerate(zip(x, y)):
            if not same(a, b):
                return f"row {i} column {ref.column_names[j]}: {b!r}, DuckDB {a!r}"
    return None


# ---- running -----------------------------------------------------------

def time_run(runner, sql):
    t0 = time.perf_counter()
    res = runner.run(sql)
    return time.perf_counter() - t0, res


def bench_system(key, runner, queries, ref, warm_pass=False):
    """Runs every query on one system; returns {qNN: result}."""
    out = {}
    if warm_pass:  # accelerated copies are built in the background
        for q, sql in queries.items():
            try:
                runner.run(sql)
            except Exception:
                pass
    for q, sql in queries.items():
        name = f"q{q:02d}"
        rec = {"seconds": None, "runs": [], "correct": False, "error": None}
        out[name] = rec
        try:
            t, res = time_run(runner, sql)
        except Exception as e:
            rec["error"] = first_line(e)
            log(f"  {key} {name}: error: {rec['error']}")
            continue
        rec["warmup"] = t
        rec["rows"] = res.num_rows
        if key == "duckdb":
            ref[q] = res
        else:
            diff = compare(q, ref[q], res) if q in ref else "no DuckDB answer to compare with"
            if diff:
                rec["error"] = "wrong answer: " + diff
                log(f"  {key} {name}: {rec['error']}")
        del res
        n = 1 if t > SLOW else RUNS
        try:
            for _ in range(n):
                dt, res = time_run(runner, sql)
                rec["runs"].append(dt)
                del res
        except Exception as e:
            rec["error"] = rec["error"] or ("error in a timed run: " + first_line(e))
            log(f"  {key} {name}: {rec['error']}")
            continue
        rec["seconds"] = statistics.median(rec["runs"])
        rec["correct"] = rec["error"] is None
    return out


def round_trip(runner):
    """The median time of `SELECT 1` (after 10 untimed): what one query
    costs a system beyond the work of answering it (for the servers, the
    Flight SQL round trips through the ADBC client); None if it fails."""
    try:
        for _ in range(10):
            runner.run(TRIVIAL)
        runs = []
        for _ in range(TRIVIAL_RUNS):
            t0 = time.perf_counter()
            runner.run(TRIVIAL)
            runs.append(time.perf_counter() - t0)
        return statistics.median(runs)
    except Exception as e:
        log(f"  SELECT 1: error: {first_line(e)}")
        return None


def geomean(xs):
    xs = list(xs)
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summarize(results, nq):
    duck = results["duckdb"]["queries"]
    for key, s in results.items():
        if s.get("skipped"):
            continue
        qs = s["queries"]
        ok = [q for q, r in qs.items() if r["correct"]]
        s["correct"] = len(ok)
        s["total"] = nq
        s["geomean_seconds"] = geomean(qs[q]["seconds"] for q in ok)
        both = [q for q in ok if duck[q]["correct"]]
        s["geomean_ratio"] = geomean(qs[q]["seconds"] / duck[q]["seconds"] for q in both)
        s["ratio_over"] = len(both)
    # A system whose every query took DuckDB's time plus its own cost per
    # query beyond DuckDB's (SELECT 1 against SELECT 1) would score this.
    d1 = results["duckdb"].get("select1_seconds")
    for key, s in results.items():
        s1 = s.get("select1_seconds")
        if s.get("skipped") or key == "duckdb" or s1 is None or d1 is None:
            continue
        ok = [q for q, r in duck.items() if r["correct"]]
        s["select1_floor_ratio"] = geomean((duck[q]["seconds"] + max(0.0, s1 - d1)) / duck[q]["seconds"] for q in ok)


def fmt_s(x):
    if x is None:
        return "-"
    return f"{x:.3f}" if x >= 0.1 else f"{x:.4f}"


def print_table(results, systems, nq, bulk):
    cols = [k for k, _ in systems if not results[k].get("skipped")]
    labels = dict(systems)
    lines = ["| query | " + " | ".join(labels[k] + " s" for k in cols) + " |",
             "|---|" + "---:|" * len(cols)]
    for q in range(1, nq + 1):
        name = f"q{q:02d}"
        cells = []
        for k in cols:
            r = results[k]["queries"][name]
            if r["correct"]:
                cells.append(fmt_s(r["seconds"]))
            elif r["error"] and r["error"].startswith("wrong answer"):
                cells.append("wrong")
            else:
                cells.append("error")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    gm, gr, cc = [], [], []
    for k in cols:
        s = results[k]
        partial = "" if s["correct"] == nq else f" ({s['correct']})"
        gm.append(fmt_s(s["geomean_seconds"]) + partial)
        rp = "" if s["ratio_over"] == nq else f" ({s['ratio_over']})"
        gr.append(("-" if s["geomean_ratio"] is None else f"{s['geomean_ratio']:.2f}") + rp)
        cc.append(f"{s['correct']}/{nq} correct")
    lines.append("| **geomean** | " + " | ".join(gm) + " |")
    lines.append("| **geomean vs DuckDB** | " + " | ".join(gr) + " |")
    lines.append("| **answers** | " + " | ".join(cc) + " |")
    print("\n".join(lines))
    fails = []
    for k in cols:
        for name, r in results[k]["queries"].items():
            if not r["correct"]:
                fails.append(f"- {labels[k]} {name}: {r['error']}")
    for k in cols:
        if "server_exit" in results[k]:
            fails.append(f"- {labels[k]}: the server exited with code {results[k]['server_exit']} during its run "
                         "(the end of its log is in the results JSON)")
    if fails:
        print("\nFailed (not counted in that system's geomean; the count in brackets is how many queries it covers):")
        print("\n".join(fails))
    if bulk:
        print("\nBulk transfer: `SELECT * FROM lineitem` to a pyarrow Table (median of %d after one warm-up)\n" % RUNS)
        print("| path | rows | seconds | vs DuckDB |")
        print("|---|---:|---:|---:|")
        ref = bulk.get("duckdb", {}).get("seconds")
        for k, label in BULK:
            b = bulk.get(k)
            if not b:
                continue
            if b.get("error"):
                print(f"| {label} | - | error | - |")
                continue
            ratio = f"{b['seconds'] / ref:.2f}" if ref else "-"
            print(f"| {label} | {b['rows']:,} | {b['seconds']:.3f} | {ratio} |")
        for k, label in BULK:
            b = bulk.get(k)
            if b and b.get("error"):
                print(f"- {label}: {b['error']}")


def print_round_trips(results, systems):
    rows = [(k, l, results[k].get("select1_seconds")) for k, l in systems if not results[k].get("skipped")]
    if not any(t is not None for _, _, t in rows):
        return
    print("\nCost of one query beyond its work: `%s`, median of %d, and the geomean vs DuckDB a system would score "
          "if every query took DuckDB's time plus that cost beyond DuckDB's own\n" % (TRIVIAL, TRIVIAL_RUNS))
    print("| system | SELECT 1 ms | floor of geomean vs DuckDB |")
    print("|---|---:|---:|")
    for k, label, t in rows:
        fl = results[k].get("select1_floor_ratio")
        print(f"| {label} | {'-' if t is None else f'{t * 1000:.2f}'} | "
              f"{'1.00' if k == 'duckdb' else ('-' if fl is None else f'{fl:.3f}')} |")


BULK = [
    ("parquet", "pyarrow.parquet.read_table (floor)"),
    ("duckdb", "DuckDB in-process (.arrow())"),
    ("qry", "qry (ADBC Flight SQL)"),
    ("roapi", "ROAPI (ADBC Flight SQL)"),
]


def bulk_one(fn):
    try:
        res = fn()
        rows = res.num_rows
        del res
        runs = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            res = fn()
            runs.append(time.perf_counter() - t0)
            del res
        return {"rows": rows, "runs": runs, "seconds": statistics.median(runs)}
    except Exception as e:
        return {"error": first_line(e)}


def chart(results, systems, nq, sf, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = [(k, l) for k, l in systems if not results[k].get("skipped")]
    colors = {"duckdb": "#888888", "qry": "#1f77b4", "qry_accel": "#17becf", "datafusion": "#ff7f0e",
              "polars": "#2ca02c", "roapi": "#d62728"}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(15, 5.5), gridspec_kw={"width_ratios": [1, 3.2]})
    names = [l for _, l in cols]
    vals = [results[k]["geomean_ratio"] or 0 for k, _ in cols]
    bars = a1.bar(names, vals, color=[colors[k] for k, _ in cols])
    for b, (k, _) in zip(bars, cols):
        s = results[k]
        a1.annotate(f"{s['geomean_ratio']:.2f}\n{s['correct']}/{nq}" if s["geomean_ratio"] else f"-\n{s['correct']}/{nq}",
                    (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom", fontsize=8)
    a1.axhline(1.0, color="black", lw=0.8, ls="--")
    a1.set_ylabel("geomean time / DuckDB time (lower is faster)")
    a1.set_title("geomean vs DuckDB (answers correct / 22)", fontsize=10)
    a1.set_ylim(0, max(vals + [1.0]) * 1.25)
    a1.tick_params(axis="x", rotation=30, labelsize=8)
    others = [(k, l) for k, l in cols if k != "duckdb"]
    w = 0.8 / max(1, len(others))
    duck = results["duckdb"]["queries"]
    for i, (k, l) in enumerate(others):
        xs, ys = [], []
        for q in range(1, nq + 1):
            r = results[k]["queries"][f"q{q:02d}"]
            d = duck[f"q{q:02d}"]
            if r["correct"] and d["correct"]:
                xs.append(q - 0.4 + w * (i + 0.5))
                ys.append(r["seconds"] / d["seconds"])
        a2.bar(xs, ys, width=w, label=l, color=colors[k])
    a2.axhline(1.0, color="black", lw=0.8, ls="--")
    a2.set_yscale("log")
    a2.set_xticks(range(1, nq + 1))
    a2.set_xticklabels([f"q{q}" for q in range(1, nq + 1)], fontsize=8)
    a2.set_ylabel("time / DuckDB time (log; missing bar: failed)")
    a2.set_title("per query", fontsize=10)
    a2.legend(fontsize=8, ncol=len(others))
    fig.suptitle(f"TPC-H SF{sf}, median of {RUNS} warm runs, {os.cpu_count()} cores (DuckDB in-process = 1.00)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def versions(args):
    import adbc_driver_flightsql
    import datafusion
    import duckdb
    import polars
    v = {"duckdb": duckdb.__version__, "datafusion": datafusion.__version__, "polars": polars.__version__,
         "pyarrow": pa.__version__, "adbc_driver_flightsql": adbc_driver_flightsql.__version__}
    for k, cmd in (("qry", [args.qry, "version"]), ("roapi", [args.roapi, "--version"])):
        try:
            v[k] = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except Exception as e:
            v[k] = f"unknown ({e})"
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sf", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--qry", required=True)
    ap.add_argument("--roapi", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chart", required=True)
    ap.add_argument("--no-bulk", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    sys.stdout.reconfigure(line_buffering=True)
    data = str(pathlib.Path(args.data).resolve())
    queries = {}
    for f in sorted((HERE / "queries").glob("q*.sql")):
        # The files end in ';' (standard); every system gets the same text
        # without it (one statement, no terminator).
        queries[int(f.stem[1:])] = f.read_text().strip().rstrip(";").strip()
    nq = len(queries)

    help_text = subprocess.run([args.qry, "serve", "--help"], capture_output=True, text=True).stdout
    accel = "--accelerate" in help_text

    ver = versions(args)
    print(f"TPC-H SF{args.sf}: {nq} queries, Parquet from tpchgen-cli in {args.data}; "
          f"{os.cpu_count()} cores; median of {RUNS} warm runs after one warm-up; answers checked against DuckDB")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()))
    load0 = os.getloadavg()
    print("load average at start: %.2f %.2f %.2f (other work on the machine skews the timings)" % load0)
    if not accel:
        print("qry accel: skipped: `qry serve --help` has no --accelerate flag in this build")

    results = {k: {"label": l} for k, l in SYSTEMS}
    ref = {}
    try:
        def run(key, make, start=None, warm_pass=False):
            """Runs one system: start() starts its server (or None), make(server)
            makes its client."""
            log(f"running {dict(SYSTEMS)[key]} ...")
            t0 = time.time()
            server = runner = None
            try:
                server = start() if start else None
                if key == "qry_accel":
                    # Timed once its copies are built and compressed: the
                    # steady state this line is about.
                    t1, deadline = time.time(), time.time() + 900
                    while accel_metrics(server).get("qry_accelerated_in_sync") != 1:
                        if time.time() > deadline:
                            raise RuntimeError("copies not ready after 900 s")
                        time.sleep(0.2)
                    log(f"  copies ready {time.time() - t1:.1f} s after the server started")
                runner = make(server)
                results[key]["queries"] = bench_system(key, runner, queries, ref, warm_pass)
                results[key]["select1_seconds"] = round_trip(runner)
                if key == "qry_accel":
                    results[key]["metrics"] = accel_metrics(server)
            except Exception as e:
                # The system could not start at all: every query fails.
                err = "could not start: " + first_line(e)
                log(f"  {key}: {err}")
                results[key]["queries"] = {f"q{q:02d}": {"seconds": None, "runs": [], "correct": False, "error": err}
                                           for q in queries}
            finally:
                if runner:
                    try:
                        runner.close()
                    except Exception:
                        pass
                if server:
                    if server.proc.poll() is not None:
                        results[key]["server_exit"] = server.proc.returncode
                        results[key]["server_log_tail"] = server.tail()
                        log(f"  {key}: the server exited ({server.proc.returncode}):\n{server.tail()}")
                    server.stop()
            results[key]["wall_seconds"] = time.time() - t0

        def adbc(server):
            return Adbc(server.url)

        run("duckdb", lambda _: DuckDB(data))
        run("qry", adbc, start=lambda: start_qry(args.qry, data, args.tmp, "qry"))
        if accel:
            run("qry_accel", adbc, warm_pass=True,
                start=lambda: start_qry(args.qry, data, args.tmp, "qry_accel",
                                        ["--accelerate", "all", "--accelerate-mode", "memory",
                                         # only to read its qry_accelerated_* metrics at the end
                                         "--http", f"127.0.0.1:{free_port()}"]))
        else:
            results["qry_accel"]["skipped"] = "`qry serve --help` has no --accelerate flag in this build"
        run("datafusion", lambda _: DataFusion(data))
        run("polars", lambda _: Polars(data))
        run("roapi", adbc, start=lambda: start_roapi(args.roapi, data, args.tmp))

        bulk = {}
        if not args.no_bulk:
            log("bulk transfer ...")
            sql = "SELECT * FROM lineitem"
            bulk["parquet"] = bulk_one(lambda: pq.read_table(f"{data}/lineitem"))
            d = DuckDB(data)
            bulk["duckdb"] = bulk_one(lambda: d.run(sql))
            d.close()
            for key, start in (("qry", lambda: start_qry(args.qry, data, args.tmp, "qry_bulk")),
                               ("roapi", lambda: start_roapi(args.roapi, data, args.tmp))):
                try:
                    srv = start()
                except RuntimeError as e:
                    bulk[key] = {"error": first_line(e)}
                    continue
                try:
                    c = Adbc(srv.url)
                    bulk[key] = bulk_one(lambda: c.run(sql))
                    c.close()
                except Exception as e:
                    bulk[key] = {"error": first_line(e)}
                finally:
                    srv.stop()
    finally:
        stop_all()

    load1 = os.getloadavg()
    summarize(results, nq)
    print()
    print_table(results, SYSTEMS, nq, bulk)
    print_round_trips(results, SYSTEMS)
    m = results["qry_accel"].get("metrics")
    if m:
        print("\nqry accel after its runs: %d tables copied, %.0f MB in memory, %d queries read a copy, %d fallbacks" % (
            m.get("qry_accelerated_tables", 0), m.get("qry_accelerated_memory_bytes", 0) / 1e6,
            m.get("qry_accelerated_queries_total", 0), m.get("qry_accelerated_fallbacks_total", 0)))
    print("load average at the end: %.2f %.2f %.2f" % load1)
    out = {"sf": args.sf, "cores": os.cpu_count(), "machine": platform.platform(), "runs": RUNS,
           "versions": ver, "date": time.strftime("%Y-%m-%d"), "loadavg_start": load0, "loadavg_end": load1, "systems": results, "bulk": bulk}
    pathlib.Path(args.out).write_text(json.dumps(out, indent=1))
    chart(results, SYSTEMS, nq, args.sf, args.chart)
    print(f"\nresults: {args.out}\nchart: {args.chart}")


if __name__ == "__main__":
    main()
