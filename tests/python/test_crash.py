"""Crash test of the live tier: a writer process ingests continuously while
the server is killed with SIGKILL at random moments and restarted. Every
acknowledged row must be there afterwards, once; the only rows allowed
beyond them are those of writes that were in flight at a kill (sent, not
acknowledged: the server may have made them durable before it died).

It runs twice: with the table's archive on local disk, and on a real
S3-compatible server (SeaweedFS), where the log stays on local disk and each
tick uploads its files."""
import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, S3_ENV, s3_filesystem, start_server

# Ticks every 200 ms, and two partitions: each gathers the 8 small files
# that start a compaction in under 2 s, so kills land in ticks and
# compactions too.
CONFIG = """tables:
  - name: readings
    path: {path}
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: v, type: DOUBLE}
      - {name: part, type: INTEGER}
    writable:
      tick: 200ms
      partition_by: [part]
"""


class Archive:
    """Where the table's archive lives: its files (names relative to the
    archive) and their contents."""

    def __init__(self, fs, root):
        self.fs, self.root = fs, root

    def files(self):
        sel = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        return sorted(i.path.removeprefix(self.root + "/") for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File)

    def ids(self, rel):
        with self.fs.open_input_file(f"{self.root}/{rel}") as f:
            return pq.read_table(f).column("id").to_pylist()


@pytest.fixture(params=["local", "s3"])
def archive(request, tmp_path):
    """The server's arguments and the table's archive, on local disk or on
    the object store."""
    if request.param == "local":
        (tmp_path / "qry.yaml").write_text(CONFIG.replace("{path}", "readings"))
        return (), {}, Archive(pafs.LocalFileSystem(), str(tmp_path / "readings"))
    seaweed = request.getfixturevalue("seaweed")
    fs = s3_filesystem(seaweed)
    bucket = f"crash-{tmp_path.name.lower().replace('_', '-')}"[:60]
    fs.create_dir(bucket)
    (tmp_path / "qry.yaml").write_text(CONFIG.replace("{path}", f"s3://{bucket}/readings/") + f"      wal: {tmp_path / 'wal'}\n")
    ext = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    return ("--s3-endpoint", seaweed, "--extension-dir", str(ext)), S3_ENV, Archive(fs, f"{bucket}/readings")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_log(path):
    tried, acked, failed = {}, {}, {}
    for line in pathlib.Path(path).read_text().splitlines():
        kind, first, n = line.split()[:3]
        {"try": tried, "ack": acked, "err": failed}[kind][int(first)] = int(n)
    return tried, acked, failed


def count(url):
    with flight_sql.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM readings")
        total, distinct, lo, hi = cur.fetchone()
        cur.execute("SELECT id FROM readings ORDER BY id")
        ids = cur.fetch_arrow_table().column("id").to_pylist()
    return total, distinct, ids


def test_kill_9_loses_nothing_acknowledged(qry_bin, tmp_path, archive):
    seed = int(os.environ.get("QRY_CRASH_SEED", time.time()))
    rnd = random.Random(seed)
    print(f"\ncrash test seed {seed} (QRY_CRASH_SEED to repeat)")
    extra_args, env, arc = archive
    listen = f"127.0.0.1:{free_port()}"
    args = ("--config", str(tmp_path / "qry.yaml"), "--listen", listen, *extra_args)
    srv = start_server(qry_bin, *args, env=env)
    log, stop = tmp_path / "writer.log", tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).with_name("crash_writer.py")),
                               srv.url, str(log), str(stop), str(seed)])
    kills = 6
    try:
        for k in range(kills):
            time.sleep(rnd.uniform(0.3, 1.5))
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            time.sleep(rnd.uniform(0, 0.3))
            srv = start_server(qry_bin, *args, env=env)
        # Write on until a compaction has merged files, however slow the
        # machine (the kills above may have come before enough ticks).
        deadline = time.time() + 180
        while not any(f.rsplit("/", 1)[-1].startswith("compact-") for f in arc.files()) and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1)
    finally:
        stop.touch()
        writer.wait(timeout=60)
    # One more kill with the writer stopped: what is left live is replayed.
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    srv = start_server(qry_bin, *args, env=env)
    try:
        tried, acked, failed = parse_log(log)
        total, distinct, ids = count(srv.url)
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)

    n_acked = sum(acked.values())
    in_flight = {f: n for f, n in tried.items() if f not in acked}
    print(f"{len(acked)} writes ({n_acked} rows) acknowledged, {len(failed)} failed at {kills} kills; "
          f"the table holds {total} rows")
    assert len(acked) > kills, "the writer hardly wrote: the test proves little"
    assert len(failed) >= 1, "no write was cut by a kill"
    assert total == distinct, f"{total - distinct} duplicated rows"
    present = set(ids)
    lost = [f for f, n in acked.items() if not all(i in present for i in range(f, f + n))]
    assert not lost, f"acknowledged writes lost: first ids {lost[:10]}"
    # Beyond the acknowledged rows, only whole in-flight writes may appear.
    extra = present - {i for f, n in acked.items() for i in range(f, f + n)}
    whole = set()
    for f, n in in_flight.items():
        batch = set(range(f, f + n))
        if batch & extra:
            assert batch <= extra, f"write at id {f} is partly there"
            whole |= batch
    assert extra == whole, f"rows never sent: {sorted(extra - whole)[:10]}"
    assert total == n_acked + len(whole)
    print(f"{len(whole)} rows of unacknowledged in-flight writes were kept; nothing lost, nothing twice")

    # One more start and stop: files a compaction replaced are removed by
    # then, as are those whose last reader was the count above.
    last = start_server(qry_bin, *args, env=env)
    last.proc.terminate()
    last.proc.wait(timeout=30)

    # The archive holds each row at most once, with no temporary files left.
    names = arc.files()
    files = [f for f in names if f.endswith(".parquet") and not f.rsplit("/", 1)[-1].startswith(".")]
    merged = [f for f in files if f.rsplit("/", 1)[-1].startswith("compact-")]
    print(f"{len(files)} archive files, {len(merged)} of them merged by compactions")
    assert merged, "no compaction ran: the test proves less than it says"
    assert not [f for f in names if ".qry-tmp-" in f]
    archived = [i for f in files for i in arc.ids(f)]
    assert len(archived) == len(set(archived))
    assert set(archived) <= present
