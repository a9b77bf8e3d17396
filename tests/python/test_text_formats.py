"""Text formats through a real server and real clients: odd CSV files,
JSON tables and rejected lines, compared with pandas reading the same files
(independent of qry and of DuckDB)."""
import gzip
import json

import adbc_driver_flightsql.dbapi as flight_sql
import pandas as pd
import pytest

from conftest import start_server


@pytest.fixture(scope="module")
def text_server(qry_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("text")
    data = d / "data"
    data.mkdir()
    (data / "pipes.csv").write_text("id|name|score\n1|ann|2.5\n2|bob|\n3|cid|-7.25\n")
    (data / "dates.csv").write_text("day;amount\n1-2-2016;3\n13-2-2016;4\n28-12-2016;5\n")
    (data / "latin.csv").write_bytes("name,city\nJosé,São Paulo\nRenée,Zürich\n".encode("latin-1"))
    (data / "headless.csv").write_text("1,2,3\n4,5,6\n")
    events = data / "events"
    events.mkdir()
    (events / "a.ndjson").write_text("".join(json.dumps(r) + "\n" for r in [{"id": 1, "kind": "click"}, {"id": 2, "kind": "view"}]))
    (events / "b.json").write_text(json.dumps([{"id": 10, "kind": "click", "ms": 1.5}]))
    with gzip.open(events / "c.jsonl.gz", "wt") as f:
        f.write(json.dumps({"id": 20, "ms": 3.0}) + "\n")
    bad = d / "sales.csv"
    bad.write_text("id,amount,day\n" + "".join(f"{i},{i}.5,2024-01-{i % 28 + 1:02d}\n" for i in range(40))
                   + "40,1.5,2024-02-01,extra\n41,2.5\n")
    cfg = d / "qry.yaml"
    cfg.write_text(f"""tables:
  - name: sales
    path: {bad}
    options: {{on_error: reject}}
data:
  - {data}
""")
    srv = start_server(qry_bin, "--config", str(cfg))
    yield srv, data, bad
    srv.proc.terminate()
    srv.proc.wait(timeout=30)


def fetch(srv, sql):
    with flight_sql.connect(srv.url) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetch_arrow_table().to_pandas()


def test_csv_dialects_as_pandas_reads_them(text_server):
    srv, data, _ = text_server
    got = fetch(srv, "SELECT * FROM pipes ORDER BY id")
    want = pd.read_csv(data / "pipes.csv", sep="|")
    pd.testing.assert_frame_equal(got, want, check_dtype=False)

    got = fetch(srv, "SELECT day, amount FROM dates ORDER BY day")
    want = pd.read_csv(data / "dates.csv", sep=";")
    want["day"] = pd.to_datetime(want["day"], format="%d-%m-%Y").dt.date
    pd.testing.assert_frame_equal(got, want.sort_values("day").reset_index(drop=True), check_dtype=False)

    got = fetch(srv, "SELECT * FROM latin")
    want = pd.read_csv(data / "latin.csv", encoding="latin-1")
    pd.testing.assert_frame_equal(got, want, check_dtype=False)

    got = fetch(srv, "SELECT * FROM headless")
    want = pd.read_csv(data / "headless.csv", header=None)
    assert got.values.tolist() == want.values.tolist()  # both rows kept, no header


def test_json_table_united_and_pruned(text_server):
    srv, data, _ = text_server
    got = fetch(srv, "SELECT id, kind, ms FROM events ORDER BY id")
    frames = [pd.read_json(data / "events" / "a.ndjson", lines=True),
              pd.read_json(data / "events" / "b.json"),
              pd.read_json(data / "events" / "c.jsonl.gz", lines=True, compression="gzip")]
    want = pd.concat(frames, ignore_index=True).sort_values("id").reset_index(drop=True)[["id", "kind", "ms"]]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    plan = fetch(srv, "EXPLAIN SELECT count(*) FROM events WHERE id >= 10")
    assert "3 files, 2 read, 1 pruned" in plan.iloc[0, 1], plan.iloc[0, 1]


def test_rejected_lines(text_server):
    srv, _, bad = text_server
    got = fetch(srv, "SELECT * FROM sales ORDER BY id")
    # pandas skips the long line and pads the short one; DuckDB's reader
    # rejects both: the good rows are pandas' rows without the padded one.
    want = pd.read_csv(bad, on_bad_lines="skip").dropna().reset_index(drop=True)
    want["day"] = pd.to_datetime(want["day"]).dt.date
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    rejects = fetch(srv, "SELECT line, original_line FROM sales_rejects ORDER BY line")
    assert rejects["line"].tolist() == [42, 43]
    assert rejects["original_line"].tolist() == ["40,1.5,2024-02-01,extra", "41,2.5"]
