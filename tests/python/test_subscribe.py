"""Subscriptions with real clients over real sockets: pyarrow.flight reads a
subscription as an ordinary stream that does not end, a browser-style SSE
client reads the same over HTTP, both resume by sequence number (from the
live tier and from the archive after ticks), an aggregate subscription
pushes new results at ticks, and a client that stops reading is cut off and
told where to resume."""
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pyarrow.flight as flight
import pytest

from conftest import start_server

CONFIG = """tables:
  - name: ticks
    path: ticks
    columns:
      - {name: id, type: BIGINT, not_null: true}
      - {name: sym, type: VARCHAR}
      - {name: px, type: DOUBLE}
      - {name: pad, type: VARCHAR}
    writable:
      tick: 300ms
"""

SQL = "SELECT id, sym, px FROM ticks WHERE px > 10"


@pytest.fixture
def srv(qry_bin, tmp_path):
    (tmp_path / "qry.yaml").write_text(CONFIG)
    s = start_server(qry_bin, "--config", str(tmp_path / "qry.yaml"), "--http", "127.0.0.1:0",
                     "--subscribe-buffer", "1", "--subscribe-max-lag", "20000")
    yield s
    s.proc.terminate()
    s.proc.wait(timeout=30)


def rows(first, n, pad=0):
    """Rows first..first+n-1 as a table: px = id % 50, so some match."""
    ids = list(range(first, first + n))
    return pa.table({"id": pa.array(ids, pa.int64()), "sym": [f"s{i % 4}" for i in ids],
                     "px": [float(i % 50) for i in ids], "pad": ["x" * pad] * n})


def matching(first, n):
    """The independent answer: (id, sym, px) of the rows over 10."""
    return [(i, f"s{i % 4}", float(i % 50)) for i in range(first, first + n) if i % 50 > 10]


def write(srv, first, n, pad=0):
    with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
        cur.adbc_ingest("ticks", rows(first, n, pad), mode="append")
        conn.commit()


def ticket(sql, frm=None):
    req = {"subscribe": sql}
    if frm is not None:
        req["from"] = frm
    return flight.Ticket(json.dumps(req).encode())


def read_until(reader, seq):
    """Reads chunks until one's app_metadata says the stream is complete up
    to seq; returns the rows and the sequence numbers seen."""
    got, seqs = [], []
    while not seqs or seqs[-1] < seq:
        chunk = reader.read_chunk()
        seqs.append(json.loads(chunk.app_metadata.to_pybytes())["seq"])
        got.extend(zip(*(chunk.data.column(i).to_pylist() for i in range(3))))
    return got, seqs


def written(srv):
    with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM ticks")
        return cur.fetchone()[0]


def wait_ticks(srv, n):
    """Waits until the server has ticked n more times (its metric)."""
    def ticks():
        with urllib.request.urlopen(srv.http + "/metrics") as r:
            m = re.search(r'qry_live_ticks_total\{outcome="ok"\} (\d+)', r.read().decode())
            return int(m.group(1)) if m else 0
    start, deadline = ticks(), time.time() + 60
    while ticks() < start + n:
        assert time.time() < deadline, "no tick in 60 s"
        time.sleep(0.05)


def test_flight_subscription_and_resume(srv):
    client = flight.FlightClient(srv.url)
    reader = client.do_get(ticket(SQL))
    assert reader.schema.names == ["id", "sym", "px"]
    first = reader.read_chunk()
    assert first.data.num_rows == 0
    assert json.loads(first.app_metadata.to_pybytes()) == {"seq": 0}
    for start in range(0, 1000, 100):
        write(srv, start, 100)
    got, seqs = read_until(reader, 1000)
    assert got == matching(0, 1000)
    assert seqs == sorted(seqs) and seqs[-1] == 1000
    reader.cancel()

    # While no one listens: more rows, and ticks that move them to the
    # archive. A client resuming from 600 gets rows 600.. exactly once.
    write(srv, 1000, 500)
    wait_ticks(srv, 2)
    for frm in (600, 0, 1500):
        r = flight.FlightClient(srv.url).do_get(ticket(SQL, frm))
        assert json.loads(r.read_chunk().app_metadata.to_pybytes()) == {"seq": frm}
        if frm < 1500:
            got, _ = read_until(r, 1500)
            assert got == matching(frm, 1500 - frm), f"from {frm}"
        r.cancel()

    # DoGet is the plain Flight call: the token, the sandbox, and SQL errors
    # apply as to queries.
    with pytest.raises(pa.ArrowException, match="not allowed|Forbidden|forbidden"):
        flight.FlightClient(srv.url).do_get(ticket("SELECT * FROM read_csv('/etc/passwd')")).read_chunk()
    with pytest.raises(pa.ArrowException, match="writable"):
        flight.FlightClient(srv.url).do_get(ticket("SELECT 42")).read_chunk()


def test_aggregate_subscription(srv):
    write(srv, 0, 200)
    reader = flight.FlightClient(srv.url).do_get(ticket("SELECT count(*) AS n, sum(px) AS s FROM ticks"))
    reader.read_chunk()  # where it starts
    first = reader.read_chunk().data.to_pylist()
    assert first == [{"n": 200, "s": sum(float(i % 50) for i in range(200))}]
    write(srv, 200, 50)
    # Pushed again at a tick, with the new rows.
    nxt = reader.read_chunk().data.to_pylist()
    assert nxt == [{"n": 250, "s": sum(float(i % 50) for i in range(250))}]
    reader.cancel()


def sse_events(resp):
    """Parses Server-Sent Events from an HTTP response, one at a time."""
    event = {"data": []}
    for raw in resp:
        line = raw.decode().rstrip("\n")
        if line == "":
            yield event
            event = {"data": []}
        elif line.startswith("data: "):
            event["data"].append(line[6:])
        else:
            k, _, v = line.partition(": ")
            event[k] = v


def test_sse_subscription(srv):
    url = srv.http + "/v1/subscribe?sql=" + urllib.parse.quote(SQL)
    resp = urllib.request.urlopen(url, timeout=60)
    assert resp.headers["Content-Type"] == "text/event-stream"
    events = sse_events(resp)
    start = next(events)
    assert start["event"] == "start" and start["id"] == "0"
    write(srv, 0, 300)
    got, last = [], 0
    while last < 300:
        ev = next(events)
        assert ev["event"] == "rows"
        last = int(ev["id"])
        got += [tuple(json.loads(d).values()) for d in ev["data"]]
    assert got == matching(0, 300)
    resp.close()

    # Resumed as a browser does, with Last-Event-ID.
    write(srv, 300, 200)
    req = urllib.request.Request(srv.http + "/v1/subscribe?sql=" + urllib.parse.quote(SQL),
                                 headers={"Last-Event-ID": "150"})
    events = sse_events(urllib.request.urlopen(req, timeout=60))
    assert next(events)["id"] == "150"
    got, last = [], 0
    while last < 500:
        ev = next(events)
        last = int(ev["id"])
        got += [tuple(json.loads(d).values()) for d in ev["data"]]
    assert got == matching(150, 350)

    # A bad statement is an ordinary JSON error, before any event.
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(srv.http + "/v1/subscribe?sql=" + urllib.parse.quote("SELECT nope FROM ticks"))
    assert json.loads(e.value.read())["kind"] == "binder"


def test_slow_subscriber_is_cut_off_and_resumes(srv):
    wide = "SELECT id, sym, px, pad FROM ticks WHERE px > 10"  # 1 kB a row
    reader = flight.FlightClient(srv.url).do_get(ticket(wide))
    reader.read_chunk()
    # The client reads nothing while writers write wide rows (the socket's
    # buffers fill, then the server's bound) until the server cuts it off;
    # the writers never wait.
    n = 0
    while slow_cut(srv) == 0:
        assert n < 1_000_000, "never cut off"
        write(srv, n, 2000, pad=1000)
        n += 2000
    assert written(srv) == n
    got, seq, err = [], 0, None
    try:
        while True:
            chunk = reader.read_chunk()
            seq = json.loads(chunk.app_metadata.to_pybytes())["seq"]
            got.extend(zip(*(chunk.data.column(i).to_pylist() for i in range(3))))
    except pa.ArrowException as e:  # RESOURCE_EXHAUSTED
        err = str(e)
    assert err is not None and "too slow" in err, err
    resume = int(re.search(r"resume from sequence (\d+)", err).group(1))
    assert resume == seq, "told to resume where what it got ends"
    assert got == matching(0, seq)
    assert slow_cut(srv) == 1
    # Resumed, it gets the rest: every matching row once.
    r = flight.FlightClient(srv.url).do_get(ticket(wide, resume))
    rest, _ = read_until(r, n)
    r.cancel()
    assert got + rest == matching(0, n)


def slow_cut(srv):
    with urllib.request.urlopen(srv.http + "/metrics") as r:
        m = re.search(r"qry_subscriptions_slow_total (\d+)", r.read().decode())
        return int(m.group(1)) if m else 0


def test_tokens_apply_to_subscriptions(qry_bin, tmp_path):
    token = "sub-token-" + "y" * 16
    (tmp_path / "qry.yaml").write_text(CONFIG)
    s = start_server(qry_bin, "--config", str(tmp_path / "qry.yaml"), "--http", "127.0.0.1:0",
                     env={"QRY_TOKENS": "pytest:" + token})
    try:
        # Without the token: refused on both front ends.
        with pytest.raises(pa.ArrowException, match="(?i)unauthenticated|token"):
            flight.FlightClient(s.url).do_get(ticket(SQL, 0)).read_chunk()
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(s.http + "/v1/subscribe?sql=" + urllib.parse.quote(SQL))
        assert e.value.code == 401
        # With it: served.
        opts = flight.FlightCallOptions(headers=[(b"authorization", b"Bearer " + token.encode())])
        reader = flight.FlightClient(s.url).do_get(ticket(SQL, 0), options=opts)
        assert json.loads(reader.read_chunk().app_metadata.to_pybytes()) == {"seq": 0}
        reader.cancel()
        req = urllib.request.Request(s.http + "/v1/subscribe?sql=" + urllib.parse.quote(SQL),
                                     headers={"Authorization": "Bearer " + token})
        events = sse_events(urllib.request.urlopen(req, timeout=60))
        assert next(events)["event"] == "start"
    finally:
        s.proc.terminate()
        s.proc.wait(timeout=30)
