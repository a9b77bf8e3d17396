"""Accelerated tables through a real client: a server keeps a disk copy of a
table in DuckDB's native storage and is killed with SIGKILL while the copy
takes in new and removed files. Every answer, right after a restart and
once the copy has caught up, equals pyarrow's over the files as they are;
the copy is used again after a restart without being loaded again."""
import os
import random
import re
import signal
import time
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from conftest import start_server

ROWS = 100_000


def write_file(root, n):
    rng = np.random.default_rng(n)
    ids = np.arange(n * ROWS, (n + 1) * ROWS, dtype=np.int64)
    table = pa.table({"id": ids, "v": rng.integers(0, 1000, ROWS).astype(np.int64), "k": (ids % 7).astype(np.int32)})
    pq.write_table(table, root / f"part-{n:04d}.parquet", row_group_size=ROWS // 4)


def expected(root):
    t = ds.dataset(root, format="parquet").to_table()
    by_k = t.group_by("k").aggregate([("v", "sum")]).sort_by("k")
    return t.num_rows, int(np.sum(t.column("v").to_numpy())), [(int(k), int(s)) for k, s in zip(by_k["k"].to_pylist(), by_k["v_sum"].to_pylist())]


def answers(url):
    with flight_sql.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), sum(v) FROM big")
        n, s = cur.fetchone()
        cur.execute("SELECT k, sum(v) FROM big GROUP BY k ORDER BY k")
        groups = [(int(k), int(v)) for k, v in cur.fetchall()]
        cur.execute("EXPLAIN SELECT sum(v) FROM big")
        plan = cur.fetchall()[0][1]
    return (n, int(s), groups), plan


def metric(srv, name):
    with urllib.request.urlopen(srv.http + "/metrics") as resp:
        m = re.search(rf"^{name} (\S+)$", resp.read().decode(), re.M)
    return float(m.group(1)) if m else None


def wait_for_copy(srv, root):
    """Waits until the plan says the copy holds every file."""
    deadline = time.time() + 120
    while True:
        got, plan = answers(srv.url)
        assert got == expected(root)
        if "read from its disk copy\n" in plan:
            return
        assert time.time() < deadline, f"the copy did not catch up: {plan}"
        time.sleep(0.1)


def test_disk_copy_survives_kill_9(qry_bin, tmp_path):
    seed = int(os.environ.get("QRY_CRASH_SEED", time.time()))
    rnd = random.Random(seed)
    print(f"\naccelerate crash seed {seed} (QRY_CRASH_SEED to repeat)")
    data, cache = tmp_path / "data", tmp_path / "cache"
    root = data / "big"
    root.mkdir(parents=True)
    for n in range(20):
        write_file(root, n)
    args = ("--data", str(data), "--accelerate", "all", "--accelerate-mode", "disk", "--cache-dir", str(cache),
            "--refresh", "100ms", "--http", "127.0.0.1:0")
    srv = start_server(qry_bin, *args)
    try:
        wait_for_copy(srv, root)
        assert metric(srv, "qry_accelerated_tables") == 1
        assert metric(srv, "qry_accelerated_queries_total") >= 1
        nxt = 20
        for kill in range(3):
            # New files and a removed one: the next refresh has the copy
            # take them in, and the kill lands during that or after it.
            for _ in range(rnd.randint(3, 8)):
                write_file(root, nxt)
                nxt += 1
            victims = sorted(root.glob("*.parquet"))
            victims[rnd.randrange(len(victims))].unlink()
            time.sleep(rnd.uniform(0.1, 1.2))
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            srv = start_server(qry_bin, *args)
            got, _ = answers(srv.url)
            assert got == expected(root), f"after kill {kill + 1}"
            wait_for_copy(srv, root)
        # A clean restart: the copy is used at once, with nothing loaded.
        srv.proc.terminate()
        srv.proc.wait(timeout=30)
        srv = start_server(qry_bin, *args)
        got, plan = answers(srv.url)
        assert got == expected(root)
        assert "read from its disk copy\n" in plan, plan
        wait_for_copy(srv, root)
        assert metric(srv, "qry_accelerated_files_loaded_total") == 0, "the copy was loaded again"
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)
