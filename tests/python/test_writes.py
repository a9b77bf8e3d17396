"""Writes to a writable table from real clients: ADBC bulk ingest of a
pandas DataFrame, INSERT with parameters, HTTP POST; read back through
Flight, and from the archived Parquet files with pyarrow."""
import datetime
import json
import pathlib
import time
import urllib.error
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import start_server

CONFIG = """tables:
  - name: events
    path: events
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: name, type: VARCHAR}
      - {name: value, type: DOUBLE}
      - {name: day, type: DATE}
    writable:
      tick: 1s
      partition_by: [day]
"""


@pytest.fixture(scope="module")
def writable(qry_bin, tmp_path_factory):
    root = tmp_path_factory.mktemp("writable")
    (root / "qry.yaml").write_text(CONFIG)
    srv = start_server(qry_bin, "--config", str(root / "qry.yaml"), "--http", "127.0.0.1:0")
    srv.root = root / "events"
    yield srv
    srv.proc.terminate()
    srv.proc.wait(timeout=30)


def read_back(srv, where="true"):
    with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, name, value, day FROM events WHERE {where} ORDER BY id")
        return cur.fetch_df()


def frame(ids):
    return pd.DataFrame({
        "id": pd.array(ids, dtype="int64"),
        "name": [f"n{i}" if i % 5 else None for i in ids],
        "value": [i * 0.5 for i in ids],
        "day": [datetime.date(2024, 6, 1 + i % 3) for i in ids],
    })


def same(got, want):
    got = got.reset_index(drop=True).copy()
    want = want.reset_index(drop=True).copy()
    got["day"] = pd.to_datetime(got["day"]).dt.date
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_adbc_ingest_then_read_back_and_archive(writable):
    df = frame(range(0, 1000))
    with flight_sql.connect(writable.url) as conn, conn.cursor() as cur:
        assert cur.adbc_ingest("events", df, mode="append") == len(df)
    same(read_back(writable, "id < 1000"), df)

    # The tick archives them as Parquet under day= directories.
    deadline = time.time() + 120
    files = []
    while time.time() < deadline:
        files = sorted(writable.root.glob("day=*/*.parquet"))
        if len(files) >= 3:
            break
        time.sleep(0.2)
    assert len(files) >= 3, list(writable.root.rglob("*"))
    parts = []
    for f in files:
        t = pq.read_table(f).to_pandas()
        t["day"] = datetime.date.fromisoformat(f.parent.name.split("=", 1)[1])
        parts.append(t)
    archived = pd.concat(parts).sort_values("id")
    archived = archived[archived["id"] < 1000][["id", "name", "value", "day"]]
    same(archived, df)
    # Still readable, once each, after the tick.
    same(read_back(writable, "id < 1000"), df)


def test_insert_with_parameters(writable):
    with flight_sql.connect(writable.url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO events (id, name, value, day) VALUES (?, ?, ?, ?)",
                    (5000, "param", 2.5, datetime.date(2024, 6, 9)))
        assert cur.rowcount == 1
        cur.execute("INSERT INTO events VALUES (5001, 'literal', NULL, DATE '2024-06-09')")
    got = read_back(writable, "id >= 5000 AND id < 6000")
    want = pd.DataFrame({"id": [5000, 5001], "name": ["param", "literal"], "value": [2.5, None],
                         "day": [datetime.date(2024, 6, 9)] * 2})
    same(got, want)


def test_insert_many_parameter_rows(writable):
    """executemany sends every parameter row in one DoPut: one write."""
    df = frame(range(20000, 20500))
    rows = pa.Table.from_pandas(df[["value", "id", "day", "name"]], preserve_index=False)
    with flight_sql.connect(writable.url) as conn, conn.cursor() as cur:
        # Bare parameters in another column order: the rows go in as Arrow.
        cur.executemany("INSERT INTO events (value, id, day, name) VALUES (?, ?, ?, ?)", rows)
        # Expressions around the parameters: bound row by row.
        cur.executemany("INSERT INTO events (id, name, value, day) VALUES (? + 1000, upper(?), ?, ?)",
                        [(i, f"x{i}", None, datetime.date(2024, 6, 2)) for i in range(20000, 20003)])
        # A NULL id in the third row: nothing of the request is written.
        with pytest.raises(Exception, match="NOT NULL"):
            cur.executemany("INSERT INTO events (id, name) VALUES (?, ?)", [(20900, "a"), (20901, "b"), (None, "c")])
    same(read_back(writable, "id >= 20000 AND id < 21000"), df)
    want = pd.DataFrame({"id": [21000, 21001, 21002], "name": ["X20000", "X20001", "X20002"],
                         "value": [float("nan")] * 3, "day": [datetime.date(2024, 6, 2)] * 3})
    same(read_back(writable, "id >= 21000 AND id < 22000"), want)


def test_http_post_ndjson_and_csv(writable):
    rows = [{"id": 7000 + i, "name": f"h{i}", "value": i / 4, "day": "2024-06-10"} for i in range(50)]
    req = urllib.request.Request(writable.http + "/v1/tables/events/rows",
                                 data="\n".join(json.dumps(r) for r in rows).encode(),
                                 headers={"Content-Type": "application/x-ndjson"}, method="POST")
    with urllib.request.urlopen(req) as resp:
        assert json.load(resp) == {"rows": 50}
    csv = "id,name,value,day\n8000,c1,1.5,2024-06-11\n8001,,2.0,2024-06-11\n"
    req = urllib.request.Request(writable.http + "/v1/tables/events/rows", data=csv.encode(),
                                 headers={"Content-Type": "text/csv"}, method="POST")
    with urllib.request.urlopen(req) as resp:
        assert json.load(resp) == {"rows": 2}
    got = read_back(writable, "id >= 7000 AND id < 9000")
    want = pd.DataFrame({"id": [r["id"] for r in rows] + [8000, 8001],
                         "name": [r["name"] for r in rows] + ["c1", None],
                         "value": [r["value"] for r in rows] + [1.5, 2.0],
                         "day": [datetime.date(2024, 6, 10)] * 50 + [datetime.date(2024, 6, 11)] * 2})
    same(got, want)


def test_bad_writes_write_nothing(writable):
    before = len(read_back(writable))
    with flight_sql.connect(writable.url) as conn, conn.cursor() as cur:
        bad = frame([9000, 9001]).rename(columns={"value": "colour"})
        with pytest.raises(Exception, match="colour"):
            cur.adbc_ingest("events", bad, mode="append")
        with pytest.raises(Exception, match="NOT NULL"):
            cur.execute("INSERT INTO events (id, name) VALUES (9002, 'a'), (NULL, 'b')")
        with pytest.raises(Exception):
            cur.adbc_ingest("events", frame([9003]), mode="replace")
    req = urllib.request.Request(writable.http + "/v1/tables/events/rows", data=b'{"id": 9004, "day": "not a day"}\n',
                                 headers={"Content-Type": "application/x-ndjson"}, method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 400
    assert len(read_back(writable)) == before


def test_live_metrics(writable):
    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen(writable.http + "/metrics") as resp:
        fams = {f.name: f for f in text_string_to_metric_families(resp.read().decode())}
    ticks = {s.labels["outcome"]: s.value for s in fams["qry_live_ticks"].samples}
    assert ticks["ok"] >= 1  # the ingest test waited for one
    assert ticks["failed"] == 0
    assert fams["qry_live_last_tick_timestamp_seconds"].samples[0].value > time.time() - 600
    assert fams["qry_live_rows"].samples[0].value >= 0


def cached_total(srv):
    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen(srv.http + "/metrics") as resp:
        for fam in text_string_to_metric_families(resp.read().decode()):
            if fam.name == "qry_queries_cached":
                return fam.samples[0].value
    raise AssertionError("no qry_queries_cached_total")


def test_result_cache_never_stale(writable):
    """The same aggregate twice comes from the cache the second time; after
    a write it is computed afresh and counts the new rows."""
    q = "SELECT day, count(*) AS n, sum(value) AS s FROM events WHERE id >= 30000 AND id < 31000 GROUP BY day ORDER BY day"
    df = frame(range(30000, 30100))
    with flight_sql.connect(writable.url) as conn, conn.cursor() as cur:
        cur.adbc_ingest("events", df, mode="append")

        def run():
            cur.execute(q)
            got = cur.fetch_df()
            got["day"] = pd.to_datetime(got["day"]).dt.date
            return got

        def expected(frame_):
            want = frame_.groupby("day").agg(n=("id", "size"), s=("value", "sum")).reset_index()
            return want

        before = cached_total(writable)
        first = run()
        pd.testing.assert_frame_equal(first, expected(df), check_dtype=False)
        second = run()
        pd.testing.assert_frame_equal(second, first)
        assert cached_total(writable) == before + 1
        more = frame(range(30100, 30130))
        cur.adbc_ingest("events", more, mode="append")
        third = run()
        pd.testing.assert_frame_equal(third, expected(pd.concat([df, more])), check_dtype=False)
        assert cached_total(writable) == before + 1, "the run after a write must not come from the cache"


def test_cli_beside_the_server_reads_the_archive(writable, qry_bin):
    """qry query on the server's own qry.yaml: it reads what is archived,
    takes no writes, and leaves the server's log alone."""
    import pyarrow.dataset as ds
    import subprocess

    def archived():
        return ds.dataset(str(writable.root), format="parquet", partitioning="hive").count_rows()

    config = writable.root.parent / "qry.yaml"
    before = archived()
    out = subprocess.run([str(qry_bin), "query", "--config", str(config), "-F", "csv",
                          "SELECT count(*) AS n FROM events"], capture_output=True, text=True, check=True)
    after = archived()
    n = int(out.stdout.splitlines()[1])
    assert before <= n <= after, (before, n, after)
    bad = subprocess.run([str(qry_bin), "query", "--config", str(config),
                          "INSERT INTO events (id) VALUES (1)"], capture_output=True, text=True)
    assert bad.returncode != 0
    assert "another qry process writes this table" in bad.stderr
    # The server still writes and reads.
    with flight_sql.connect(writable.url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO events (id, name) VALUES (40000, 'after the CLI')")
    got = read_back(writable, "id = 40000")
    assert got[["id", "name"]].values.tolist() == [[40000, "after the CLI"]]


def test_insert_through_http_query_and_not_through_flight_doget(writable):
    import pyarrow.flight as fl
    req = urllib.request.Request(writable.http + "/v1/query?format=json", method="POST",
                                 data=b"INSERT INTO events (id, name) VALUES (41000, 'http'), (41001, 'http')")
    with urllib.request.urlopen(req) as resp:
        assert json.load(resp) == [{"Count": 2}]
    # Plain Flight: a ticket is read, never a write.
    client = fl.connect(writable.url)
    with pytest.raises(pa.ArrowInvalid, match="INSERT is an update"):
        client.do_get(fl.Ticket(b"INSERT INTO events (id) VALUES (41002)")).read_all()
    client.close()
    got = read_back(writable, "id >= 41000 AND id < 42000")
    assert got["id"].tolist() == [41000, 41001]
