"""Fixtures for client tests: a real qry server on a free loopback port."""
import json
import os
import pathlib
import re
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import duckdb
import pyarrow.fs as pafs
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "testdata" / "sample"


WEED = ROOT / ".cache" / "bin" / "weed"
KEY, SECRET = "qrypykey", "qry-py-secret-0123456789"


def free_weed_port():
    """A free port whose port+10000 (SeaweedFS's gRPC port) is free too."""
    while True:
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            p = a.getsockname()[1]
            if p + 10000 > 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", p + 10000))
                except OSError:
                    continue
            return p


def start_weed(d):
    """Starts weed server -s3 in d on free ports: the process and the S3
    endpoint, or (None, None) when it stopped before answering (its log
    says why)."""
    (d / "data").mkdir()
    cfg = d / "s3.json"
    cfg.write_text(json.dumps({"identities": [{"name": "qry", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                                               "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
    ports = set()
    while len(ports) < 4:
        p = free_weed_port()
        if not ({p, p + 10000} & ({q for q in ports} | {q + 10000 for q in ports})):
            ports.add(p)
    master, volume, filer, s3 = sorted(ports)
    log = open(d / "weed.log", "w")
    proc = subprocess.Popen([str(WEED), "server", f"-dir={d / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                             f"-master.port={master}", f"-master.port.grpc={master + 10000}",
                             f"-volume.port={volume}", f"-volume.port.grpc={volume + 10000}",
                             f"-filer.port={filer}", f"-filer.port.grpc={filer + 10000}",
                             "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3 + 10000}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                             f"-s3.config={cfg}", "-master.telemetry=false", "-volume.max=20"],
                            stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{s3}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(endpoint + "/", timeout=5)
            return proc, endpoint
        except urllib.error.HTTPError:
            return proc, endpoint  # 403 without credentials: it answers
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                proc.wait()
                return None, None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    if not WEED.exists():
        if os.environ.get("QRY_REQUIRE_S3"):
            pytest.fail("no SeaweedFS: run scripts/seaweedfs.sh")
        pytest.skip("no SeaweedFS here (scripts/seaweedfs.sh builds it)")
    # A port found free may be taken before the server binds it (other
    # servers of the suite start beside it): a start that fails to bind is
    # made again on other ports.
    for attempt in range(5):
        d = tmp_path_factory.mktemp("seaweed")
        proc, endpoint = start_weed(d)
        if proc is not None:
            break
        if "address already in use" not in (d / "weed.log").read_text() or attempt == 4:
            raise RuntimeError("weed server did not start: " + (d / "weed.log").read_text()[-3000:])
    yield endpoint
    proc.kill()
    proc.wait()


# The AWS variables of a qry server that reads the seaweed fixture (its
# endpoint given with --s3-endpoint), with no shared file in the way.
S3_ENV = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
          "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}


def s3_filesystem(endpoint):
    """pyarrow's own S3 client for the seaweed fixture's server."""
    return pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, endpoint_override=endpoint.removeprefix("http://"),
                             scheme="http", region="us-east-1", allow_bucket_creation=True)


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_on_ports(qry_bin, n, args_for, env=None):
    """Starts n servers on ports known before they start (replicas that
    list each other): args_for(ports, i) are server i's arguments. A port
    found free may be taken before the server binds it: then all start
    again on other ports."""
    for attempt in range(5):
        ports = []
        while len(ports) < n:
            p = free_port()
            if p not in ports:
                ports.append(p)
        servers = []
        try:
            for i in range(n):
                servers.append(start_server(qry_bin, *args_for(ports, i), env=env))
            return ports, servers
        except RuntimeError as e:
            for s in servers:
                s.proc.kill()
                s.proc.wait()
            if "address already in use" not in str(e) or attempt == 4:
                raise
