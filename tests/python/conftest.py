"""Fixtures for client tests: a real qry server on a free loopback port."""
import os
import pathlib
import re
import subprocess
import tempfile
import time

import duckdb
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "testdata" / "sample"


@pytest.fixture(scope="session")
def qry_bin(tmp_path_factory):
    """Builds the qry binary once per session."""
    out = tmp_path_factory.mktemp("bin") / "qry"
    env = dict(os.environ, GOFLAGS="-tags=duckdb_arrow")
    subprocess.run(["go", "build", "-o", str(out), "./cmd/qry"], cwd=ROOT, env=env, check=True)
    return out


class Server:
    def __init__(self, proc, url, log, http=None):
        self.proc, self.url, self.log, self.http = proc, url, log, http

    @property
    def pid(self):
        return self.proc.pid

    def peak_rss_mb(self):
        """The server's peak resident memory (VmHWM), in MiB."""
        for line in pathlib.Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def alive(self):
        return self.proc.poll() is None


def start_server(qry_bin, *args, env=None):
    """Starts qry serve; with --http among args, Server.http is its base URL.
    The server's log is Server.log (a file name)."""
    log = tempfile.NamedTemporaryFile(prefix="qry-serve-", suffix=".log", delete=False)
    cache = tempfile.mkdtemp(prefix="qry-cache-")
    proc = subprocess.Popen(
        [str(qry_bin), "serve", "--listen", "127.0.0.1:0", "--cache-dir", cache, *args],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
    deadline = time.time() + 60
    while time.time() < deadline:
        text = pathlib.Path(log.name).read_text()
        m = re.search(r"on (grpc://[\d.]+:\d+)", text)
        if m:
            h = re.search(r"http on (http://[\d.]+:\d+)", text)
            return Server(proc, m.group(1), log.name, h.group(1) if h else None)
        if proc.poll() is not None:
            raise RuntimeError("qry serve exited: " + text)
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("qry serve did not start")


@pytest.fixture(scope="module")
def server(qry_bin):
    srv = start_server(qry_bin, "--data", str(SAMPLE))
    yield srv
    srv.proc.terminate()
    srv.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def ref():
    """DuckDB (the Python package, independent of qry) over the raw files."""
    con = duckdb.connect()
    con.execute(f"CREATE VIEW trips AS SELECT * FROM read_parquet('{SAMPLE}/trips/**/*.parquet', hive_partitioning=true)")
    con.execute(f"CREATE VIEW weather AS SELECT * FROM read_csv('{SAMPLE}/weather.csv')")
    return con
