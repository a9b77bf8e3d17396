"""Kafka into a writable table, against a real Apache Kafka broker (KRaft
mode, from the jars scripts/kafka.sh fetches): a producer sends JSON
messages (some bad) while the server is killed with SIGKILL again and
again. Afterwards the table holds each good message exactly once and the
rejected table each bad one exactly once."""
import base64
import json
import os
import random
import signal
import subprocess
import threading
import time
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import pytest

from conftest import ROOT, start_server

LIBS = ROOT / ".cache" / "kafka" / "libs"


def free_ports(n):
    import socket
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    """A real broker's address (one node, broker and controller)."""
    from shutil import which
    if which("java") is None or not LIBS.is_dir():
        if os.environ.get("QRY_REQUIRE_KAFKA") == "1":
            pytest.fail("kafka broker: java or the jars are missing (QRY_REQUIRE_KAFKA=1)")
        pytest.skip("kafka broker: java or the jars are missing: run scripts/kafka.sh")
    d = tmp_path_factory.mktemp("kafka")
    port, ctl = free_ports(2)
    (d / "server.properties").write_text("\n".join([
        "process.roles=broker,controller", "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{ctl}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctl}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={d / 'data'}", "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
        "auto.create.topics.enable=false", ""]))
    java = ["java", "-Xmx512m", "-XX:+UseSerialGC", "-cp", f"{LIBS}/*"]
    cluster = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    # "=": a cluster id may start with "-".
    subprocess.run([*java, "kafka.tools.StorageTool", "format", "--standalone", f"--cluster-id={cluster}",
                    "-c", str(d / "server.properties")], check=True, capture_output=True)
    log = open(d / "broker.log", "w")
    proc = subprocess.Popen([*java, "kafka.Kafka", str(d / "server.properties")], stdout=log, stderr=subprocess.STDOUT)
    addr = f"127.0.0.1:{port}"
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": addr, "log_level": 0})
    deadline = time.time() + 90
    while True:
        try:
            if admin.list_topics(timeout=2).brokers:
                break
        except Exception:
            pass
        assert proc.poll() is None, "kafka broker exited: " + (d / "broker.log").read_text()[-3000:]
        assert time.time() < deadline, "kafka broker not ready after 90 s"
        time.sleep(0.2)
    yield addr
    proc.kill()
    proc.wait()
    log.close()


def create_topic(addr, name, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": addr})  # kept while the futures run
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    for f in fs.values():
        f.result(timeout=30)


CONFIG = """tables:
  - name: events
    path: events
    columns:
      - {{name: id, type: BIGINT, not_null: true}}
      - {{name: v, type: DOUBLE}}
    writable: {{tick: 200ms}}
    source:
      kafka: {{brokers: ["{addr}"], topic: events}}
"""


def query(url, sql):
    with flight_sql.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


class Subscriber(threading.Thread):
    """Follows SELECT id FROM events through pyarrow.flight, and after each
    loss of the server resumes from the last sequence number it saw."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.ids, self.seq, self.stop, self.reconnects = url, [], 0, threading.Event(), 0

    def run(self):
        import pyarrow as pa
        import pyarrow.flight as flight
        while not self.stop.is_set():
            try:
                t = flight.Ticket(json.dumps({"subscribe": "SELECT id FROM events", "from": self.seq}).encode())
                reader = flight.FlightClient(self.url).do_get(t)
                while not self.stop.is_set():
                    chunk = reader.read_chunk()
                    self.ids.extend(chunk.data.column(0).to_pylist())
                    self.seq = json.loads(chunk.app_metadata.to_pybytes())["seq"]
            except (pa.ArrowException, OSError, StopIteration):
                self.reconnects += 1
                time.sleep(0.1)  # the server is being restarted: try again


def test_kill_9_while_consuming(qry_bin, tmp_path, kafka):
    from confluent_kafka import Producer
    seed = int(os.environ.get("QRY_CRASH_SEED", time.time()))
    rnd = random.Random(seed)
    print(f"\nkafka crash test seed {seed} (QRY_CRASH_SEED to repeat)")
    create_topic(kafka, "events", 3)
    (tmp_path / "qry.yaml").write_text(CONFIG.format(addr=kafka))
    listen = f"127.0.0.1:{free_ports(1)[0]}"
    args = ("--config", str(tmp_path / "qry.yaml"), "--http", "127.0.0.1:0", "--listen", listen)

    n, bad_every = 60000, 997
    good = [i for i in range(n) if i % bad_every != 0]
    bad = n - len(good)
    done = threading.Event()

    def produce():
        p = Producer({"bootstrap.servers": kafka, "linger.ms": 5, "enable.idempotence": True})
        for i in range(n):
            value = b"{not json" if i % bad_every == 0 else json.dumps({"id": i, "v": i / 2}).encode()
            while True:
                try:
                    p.produce("events", value, partition=i % 3)
                    break
                except BufferError:
                    p.poll(0.05)
            if i % 500 == 499:
                p.flush()
                time.sleep(0.02)  # a steady stream over several seconds, not one burst
        p.flush()
        done.set()

    producer = threading.Thread(target=produce)
    srv = start_server(qry_bin, *args)
    subscriber = Subscriber(srv.url)
    subscriber.start()
    producer.start()
    kills, seen = 0, []
    try:
        while not done.is_set() or kills < 4:
            time.sleep(rnd.uniform(0.3, 1.2))
            seen.append(query(srv.url, "SELECT count(*) FROM events")[0][0])
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()
            kills += 1
            srv = start_server(qry_bin, *args)
        producer.join()
        deadline = time.time() + 180
        while query(srv.url, "SELECT count(*) FROM events")[0][0] < len(good) and time.time() < deadline:
            time.sleep(0.2)
        # One more kill at rest: what is live is replayed, nothing read again.
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv = start_server(qry_bin, *args)
        total, distinct, lo, hi, total_v = query(
            srv.url, "SELECT count(*), count(DISTINCT id), min(id), max(id), sum(v) FROM events")[0]
        rejected, rejected_distinct = query(
            srv.url, 'SELECT count(*), count(DISTINCT (partition, "offset")) FROM events_rejected')[0]
        ids = [r[0] for r in query(srv.url, "SELECT id FROM events ORDER BY id")]
        with urllib.request.urlopen(srv.http + "/metrics") as r:
            metrics = r.read().decode()
        # The subscriber catches up with the table.
        deadline = time.time() + 120
        while len(subscriber.ids) < len(good) and time.time() < deadline:
            time.sleep(0.1)
    finally:
        subscriber.stop.set()
        srv.proc.terminate()
        srv.proc.wait(timeout=30)

    print(f"{kills} kills, counts seen before them: {seen}; the table holds {total} rows, {rejected} rejected")
    assert any(0 < c < len(good) for c in seen), "no kill came while consuming: the test proves little"
    assert total == distinct == len(good), f"{total} rows, {distinct} distinct, {len(good)} sent"
    assert ids == good
    assert total_v == sum(i / 2 for i in good)
    assert rejected == rejected_distinct == bad, f"{rejected} rejected ({rejected_distinct} distinct), {bad} bad sent"
    assert 'qry_kafka_lag_messages{partition="0",table="events",topic="events"}' in metrics
    print(f"the subscriber reconnected {subscriber.reconnects} times and saw {len(subscriber.ids)} rows")
    assert subscriber.reconnects >= kills
    assert sorted(subscriber.ids) == good, "the subscriber saw every row exactly once"


REGISTRY = ROOT / ".cache" / "registry" / "registry.jar"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A real schema registry (Apicurio's, which scripts/registry.sh builds)
    serving Confluent's API: its URL."""
    from shutil import which
    if which("java") is None or not REGISTRY.is_file():
        if os.environ.get("QRY_REQUIRE_KAFKA") == "1":
            pytest.fail("schema registry: java or its build is missing (QRY_REQUIRE_KAFKA=1)")
        pytest.skip("schema registry: java or its build is missing: run scripts/registry.sh")
    log_path = tmp_path_factory.mktemp("registry") / "registry.log"
    for attempt in range(3):  # a port found free may be taken before it binds
        port = free_ports(1)[0]
        log = open(log_path, "w")
        proc = subprocess.Popen(["java", "-Xmx384m", "-XX:+UseSerialGC", "-Dquarkus.http.host=127.0.0.1",
                                 f"-Dquarkus.http.port={port}", "-jar", str(REGISTRY)],
                                stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/apis/ccompat/v6"
        deadline = time.time() + 90
        while proc.poll() is None and time.time() < deadline:
            try:
                with urllib.request.urlopen(url + "/subjects", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        if proc.poll() is None and time.time() < deadline:
            break
        proc.kill()
        proc.wait()
        text = log_path.read_text()
        if "already in use" not in text or attempt == 2:
            pytest.fail("schema registry did not start: " + text[-3000:])
    yield url
    proc.kill()
    proc.wait()
    log.close()


ORDERS = """tables:
  - name: orders
    path: orders
    columns:
      - {{name: id, type: BIGINT, not_null: true}}
      - {{name: customer, type: VARCHAR}}
      - {{name: total, type: "DECIMAL(10,2)"}}
      - {{name: placed, type: TIMESTAMP}}
      - {{name: due, type: DATE}}
      - {{name: express, type: BOOLEAN}}
    writable: {{tick: 200ms}}
    source:
      kafka: {{brokers: ["{addr}"], topic: orders, format: avro, registry: "{registry}"}}
"""

ORDER_SCHEMA = json.dumps({"type": "record", "name": "Order", "namespace": "shop", "fields": [
    {"name": "id", "type": "long"},
    {"name": "customer", "type": ["null", "string"]},
    {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "due", "type": {"type": "int", "logicalType": "date"}},
    {"name": "express", "type": "boolean"},
    {"name": "channel", "type": "string"},
]})


def test_avro_through_registry(qry_bin, tmp_path, kafka, registry):
    """confluent-kafka's AvroSerializer registers the schema in the registry
    and frames each message; qry reads them into the table exactly as
    produced (read back through ADBC into pandas), and a message that is
    not Avro goes to orders_rejected."""
    import datetime as dt
    from decimal import Decimal

    import pandas as pd
    from confluent_kafka import Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    create_topic(kafka, "orders", 2)
    serialize = AvroSerializer(SchemaRegistryClient({"url": registry}), ORDER_SCHEMA)
    ctx = SerializationContext("orders", MessageField.VALUE)
    start = dt.datetime(2025, 3, 30, 1, 59, 59, 999999)
    orders = [{"id": i, "customer": None if i % 5 == 0 else f"c{i % 7}",
               "total": Decimal(i * 137 - 500) / 100, "placed": start + dt.timedelta(minutes=i, microseconds=i),
               "due": dt.date(2025, 12, 31) + dt.timedelta(days=i), "express": i % 2 == 0, "channel": "web"}
              for i in range(500)]
    p = Producer({"bootstrap.servers": kafka})
    for o in orders:
        # A naive datetime is UTC to the serializer: it is given as such.
        value = serialize(dict(o, placed=o["placed"].replace(tzinfo=dt.timezone.utc)), ctx)
        p.produce("orders", value, partition=o["id"] % 2)
    p.produce("orders", b'{"id": -1}', partition=0)
    p.flush()

    (tmp_path / "qry.yaml").write_text(ORDERS.format(addr=kafka, registry=registry))
    srv = start_server(qry_bin, "--config", str(tmp_path / "qry.yaml"))
    try:
        deadline = time.time() + 120
        while query(srv.url, "SELECT count(*) FROM orders")[0][0] < len(orders):
            assert time.time() < deadline, "orders not all read after 120 s"
            time.sleep(0.2)
        with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
            cur.execute("SELECT id, customer, total, placed, due, express FROM orders ORDER BY id")
            got = cur.fetch_df()
        want = pd.DataFrame(orders).drop(columns="channel")
        assert got["total"].tolist() == want["total"].tolist()  # Decimal, exactly
        assert got["placed"].tolist() == [pd.Timestamp(x) for x in want["placed"]]
        assert got["due"].tolist() == want["due"].tolist()
        assert got["customer"].tolist() == want["customer"].tolist()
        assert got["id"].tolist() == want["id"].tolist()
        assert got["express"].tolist() == want["express"].tolist()
        rejected = query(srv.url, 'SELECT "offset", decode(value), error FROM orders_rejected')
        assert len(rejected) == 1 and rejected[0][1] == '{"id": -1}', rejected
        assert "not a schema registry Avro message" in rejected[0][2]
    finally:
        srv.proc.kill()
        srv.proc.wait()
