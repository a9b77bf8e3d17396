"""The HTTP API from Python's standard library, pyarrow and pandas, over a
real socket, checked against DuckDB reading the same files."""
import io
import json
import urllib.error
import urllib.request

import pandas as pd
import pyarrow as pa
import pyarrow.ipc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import SAMPLE, start_server

TOKEN = "pytest-token-" + "x" * 16

QUERY = """SELECT t.trip_id, t.pickup_at, t.zone_id, t.fare, t.payment, t.year,
  CASE WHEN t.trip_id % 5 = 0 THEN NULL ELSE t.tip END AS tip
FROM trips t WHERE t.month BETWEEN 3 AND 4 ORDER BY t.trip_id"""


@pytest.fixture(scope="module")
def web(qry_bin):
    srv = start_server(qry_bin, "--data", str(SAMPLE), "--http", "127.0.0.1:0",
                       env={"QRY_TOKENS": "pytest:" + TOKEN})
    assert srv.http, open(srv.log).read()
    yield srv
    srv.proc.terminate()
    srv.proc.wait(timeout=30)


def post(srv, sql, accept=None, token=TOKEN, body=None, content_type="text/plain"):
    req = urllib.request.Request(srv.http + "/v1/query", data=(body or sql).encode(), method="POST")
    req.add_header("Content-Type", content_type)
    if accept:
        req.add_header("Accept", accept)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    return urllib.request.urlopen(req, timeout=60)


def expected(ref):
    return ref.execute(QUERY).df()


def same(got, want):
    """Compares a decoded text result with DuckDB's frame, parsing the
    timestamps text formats carry as strings."""
    got = got[list(want.columns)].copy()
    for col in want.columns:
        if pd.api.types.is_datetime64_any_dtype(want[col]):
            got[col] = pd.to_datetime(got[col]).astype(want[col].dtype)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)


def test_arrow_ipc(web, ref):
    with post(web, QUERY, "application/vnd.apache.arrow.stream") as resp:
        assert resp.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
        table = pa.ipc.open_stream(resp.read()).read_all()
    want = ref.execute(QUERY).fetchall()
    names = [d[0] for d in ref.execute(QUERY).description]
    assert table.num_rows == len(want) > 100
    assert table.column_names == names
    assert [tuple(r.values()) for r in table.to_pylist()] == want


def test_json(web, ref):
    with post(web, QUERY, "application/json") as resp:
        rows = json.load(resp)
    same(pd.DataFrame(rows), expected(ref))


def test_ndjson(web, ref):
    with post(web, QUERY, "application/x-ndjson") as resp:
        lines = resp.read().decode().splitlines()
    same(pd.DataFrame([json.loads(line) for line in lines]), expected(ref))


def test_csv(web, ref):
    with post(web, QUERY, "text/csv") as resp:
        got = pd.read_csv(io.BytesIO(resp.read()))
    same(got, expected(ref))


def test_parameters(web, ref):
    body = json.dumps({"sql": "SELECT count(*) AS n, sum(fare) AS fares FROM trips WHERE payment = $1 AND passengers >= $2",
                       "params": ["cash", 2]})
    with post(web, None, body=body, content_type="application/json") as resp:
        got = json.load(resp)
    n, fares = ref.execute("SELECT count(*), sum(fare) FROM trips WHERE payment = 'cash' AND passengers >= 2").fetchall()[0]
    assert got[0]["n"] == n
    assert got[0]["fares"] == pytest.approx(fares, rel=1e-12)


@pytest.mark.parametrize("token,sql,status", [
    (None, "SELECT 1", 401),
    ("wrong-token-" + "y" * 16, "SELECT 1", 401),
    (TOKEN, "SELECT * FROM nowhere", 400),
    (TOKEN, "SELECT * FROM read_parquet('/etc/*.parquet')", 403),
    (TOKEN, "ATTACH '/tmp/x.db' AS x", 403),
])
def test_errors(web, token, sql, status):
    with pytest.raises(urllib.error.HTTPError) as err:
        post(web, sql, token=token)
    assert err.value.code == status
    body = json.load(err.value)
    assert body["error"]
    assert TOKEN not in json.dumps(body)


def test_tables(web, ref):
    req = urllib.request.Request(web.http + "/v1/tables/trips", headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req) as resp:
        table = json.load(resp)
    want = ref.execute("SELECT column_name, column_type FROM (DESCRIBE trips)").fetchall()
    # Hive partition columns come last in both, in another order.
    assert sorted((c["name"], c["type"]) for c in table["schema"]) == sorted(want)
    assert table["rows"] == ref.execute("SELECT count(*) FROM trips").fetchall()[0][0]


def scrape(srv):
    with urllib.request.urlopen(srv.http + "/metrics") as resp:
        text = resp.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_follow_queries(web, ref):
    ok = ("qry_queries_total", (("frontend", "http"), ("status", "ok")))
    rows = ("qry_result_rows_total", (("frontend", "http"),))
    before = scrape(web)
    with post(web, "SELECT trip_id FROM trips WHERE year = 2023", "text/csv") as resp:
        n = len(resp.read().decode().splitlines()) - 1
    assert n == ref.execute("SELECT count(*) FROM trips WHERE year = 2023").fetchall()[0][0]
    after = scrape(web)
    assert after[ok] == before.get(ok, 0) + 1
    assert after[rows] == before.get(rows, 0) + n
    assert after[("qry_catalog_tables", ())] == 3
    pruned = ("qry_files_total", (("outcome", "pruned"),))
    assert after[pruned] - before.get(pruned, 0) == 12  # the 12 months of 2024


def test_probes(web):
    for path in ("/healthz", "/readyz"):
        with urllib.request.urlopen(web.http + path) as resp:
            assert resp.status == 200
