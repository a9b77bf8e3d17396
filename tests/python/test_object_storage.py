"""A server whose data root is on a real S3-compatible server (SeaweedFS,
built by scripts/seaweedfs.sh): pandas over Flight SQL gets what DuckDB
(the Python package) reads from the local copy of the same files."""
import json
import os
import pathlib
import socket
import subprocess
import time
import urllib.error
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow.fs as pafs
import pytest

from conftest import ROOT, SAMPLE, start_server

WEED = ROOT / ".cache" / "bin" / "weed"
KEY, SECRET = "qrypykey", "qry-py-secret-0123456789"


def free_port():
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


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory):
    if not WEED.exists():
        if os.environ.get("QRY_REQUIRE_S3"):
            pytest.fail("no SeaweedFS: run scripts/seaweedfs.sh")
        pytest.skip("no SeaweedFS here (scripts/seaweedfs.sh builds it)")
    d = tmp_path_factory.mktemp("seaweed")
    (d / "data").mkdir()
    cfg = d / "s3.json"
    cfg.write_text(json.dumps({"identities": [{"name": "qry", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                                               "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
    master, volume, filer, s3 = (free_port() for _ in range(4))
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
            break
        except urllib.error.HTTPError:
            break  # 403 without credentials: it answers
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError("weed server did not start: " + (d / "weed.log").read_text()[-3000:])
            time.sleep(0.1)
    yield endpoint
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def s3_server(qry_bin, seaweed):
    fs = pafs.S3FileSystem(access_key=KEY, secret_key=SECRET, endpoint_override=seaweed.removeprefix("http://"),
                           scheme="http", region="us-east-1", allow_bucket_creation=True)
    fs.create_dir("lake")
    for f in SAMPLE.rglob("*"):
        if f.is_file():  # objects only: no folder markers
            with fs.open_output_stream(f"lake/sample/{f.relative_to(SAMPLE).as_posix()}") as out:
                out.write(f.read_bytes())
    ext = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    env = {"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
    srv = start_server(qry_bin, "--data", "s3://lake/sample/", "--s3-endpoint", seaweed, "--extension-dir", str(ext), env=env)
    yield srv
    srv.proc.terminate()
    srv.proc.wait(timeout=30)
    assert SECRET not in pathlib.Path(srv.log).read_text()


@pytest.mark.parametrize("sql", [
    "SELECT year, month, count(*) AS n, round(sum(fare), 4) AS fares FROM trips GROUP BY ALL ORDER BY ALL",
    "SELECT payment, max(fare) AS top FROM trips WHERE year = 2024 AND month = 3 GROUP BY 1 ORDER BY 1",
    "SELECT * FROM weather ORDER BY day",
])
def test_pandas_over_object_storage(s3_server, ref, sql):
    with flight_sql.connect(s3_server.url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        got = cur.fetch_df()
    want = ref.execute(sql).df()
    assert list(got.columns) == list(want.columns)
    assert got.astype(str).values.tolist() == want.astype(str).values.tolist()


def test_secrets_stay_hidden(s3_server):
    with flight_sql.connect(s3_server.url) as conn, conn.cursor() as cur:
        for sql in ["SELECT * FROM duckdb_secrets()", "SELECT current_setting('s3_secret_access_key')",
                    "SELECT * FROM read_csv('s3://lake/elsewhere.csv')"]:
            with pytest.raises(Exception) as err:
                cur.execute(sql)
            assert SECRET not in str(err.value)
