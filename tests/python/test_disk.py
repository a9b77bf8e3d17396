"""A full disk and a read-only disk under a writable table: writes fail with
a clear error and write nothing, reads go on, the server keeps serving, and
once the disk is back every acknowledged row is there, once (also after a
kill -9). The table lives on a small tmpfs the test mounts (root only)."""
import signal
import subprocess
import time
import urllib.error
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import numpy as np
import pyarrow as pa
import pytest

from conftest import start_server

CONFIG = """tables:
  - name: events
    path: events
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: payload, type: VARCHAR}
    writable:
      tick: 300ms
"""


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "events"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def remount(mnt, opts):
    subprocess.run(["mount", "-o", f"remount,{opts}", str(mnt)], check=True)


def rows(first, n):
    ids = np.arange(first, first + n, dtype=np.int64)
    # Incompressible text, so the log fills the disk quickly.
    rng = np.random.default_rng(first)
    payload = [rng.bytes(30).hex() for _ in range(n)]
    return pa.table({"id": ids, "payload": payload})


def count(cur):
    cur.execute("SELECT count(*), count(DISTINCT id) FROM events")
    return cur.fetchone()


def test_full_and_read_only_disk(qry_bin, tmp_path, small_disk):
    (tmp_path / "qry.yaml").write_text(CONFIG)
    args = ("--config", str(tmp_path / "qry.yaml"), "--http", "127.0.0.1:0")
    srv = start_server(qry_bin, *args)
    acked, next_id, error = 0, 0, None
    try:
        with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
            # Fill the disk: the log and the archive share 4 MiB.
            for _ in range(200):
                try:
                    cur.adbc_ingest("events", rows(next_id, 5000), mode="append")
                    acked += 5000
                except Exception as e:
                    error = str(e)
                    break
                finally:
                    next_id += 5000
            assert error is not None, "the disk never filled"
            print(f"\nfull after {acked} rows: {error.splitlines()[0]}")
            assert "no space left on device" in error.lower(), error
            assert "(Unavailable;" in error and "events: write not saved" in error, error
            # Reads go on, and the failed write left nothing.
            assert count(cur) == (acked, acked)
            # Writes go on failing the same way while the disk is full; the
            # server stays up. (A tick may archive the live rows and free a
            # little room meanwhile: write until it is full again.)
            for _ in range(50):
                try:
                    cur.adbc_ingest("events", rows(next_id, 5000), mode="append")
                    acked += 5000
                except Exception as e:
                    assert "no space left" in str(e).lower(), e
                    break
                finally:
                    next_id += 5000
            else:
                pytest.fail("the disk never filled again")
            assert count(cur) == (acked, acked)
            assert srv.alive()
            with urllib.request.urlopen(srv.http + "/readyz") as resp:
                assert resp.status == 200
            # Over HTTP too: 503 and the reason.
            req = urllib.request.Request(srv.http + "/v1/tables/events/rows", method="POST",
                                         data=b"".join(b'{"id": %d, "payload": "%s"}\n' % (next_id + i, b"x" * 400) for i in range(20000)),
                                         headers={"Content-Type": "application/x-ndjson"})
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(req)
            assert err.value.code == 503
            assert "no space left on device" in err.value.read().decode()
            next_id += 20000

            # Space comes back: writes work again.
            remount(small_disk, "size=64m")
            cur.adbc_ingest("events", rows(next_id, 100), mode="append")
            acked += 100
            next_id += 100

            assert count(cur) == (acked, acked)
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)

    # A disk that is read-only when the server starts (it cannot be made
    # read-only under open files): the table is read, log replayed
    # included; writes fail clearly until the disk is writable again.
    remount(small_disk, "ro")
    srv = start_server(qry_bin, *args)
    try:
        with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
            assert count(cur) == (acked, acked)
            with pytest.raises(Exception, match="events: write not saved.*read-only file system.*Unavailable"):
                cur.adbc_ingest("events", rows(next_id, 100), mode="append")
            next_id += 100
            assert count(cur) == (acked, acked)
            remount(small_disk, "rw")
            cur.adbc_ingest("events", rows(next_id, 100), mode="append")
            acked += 100
            next_id += 100
            deadline = time.time() + 120
            while time.time() < deadline and not list(small_disk.glob("*.parquet")):
                time.sleep(0.1)
            assert list(small_disk.glob("*.parquet")), "no tick archived once the disk was back"
            assert count(cur) == (acked, acked)
    finally:
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
    # After a crash, every acknowledged row, once.
    srv = start_server(qry_bin, *args)
    try:
        with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
            assert count(cur) == (acked, acked)
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)
