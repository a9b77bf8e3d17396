"""Past one machine: results in parts (one Flight endpoint per group of
files), read in parallel by ADBC, Dask, Ray and Spark, from replicas that
share a ticket secret; a replica killed mid-read costs nothing but a
retry. Every answer is checked against DuckDB (the Python package) over
the same files."""
import os
import shutil
import signal
import subprocess
import sys

import adbc_driver_flightsql.dbapi as flight_sql
import duckdb
import pyarrow.flight as flight
import pytest

import qry
import qry.dask
import qry.ray
import qry.spark
from conftest import start_on_ports

FILES, ROWS = 8, 250_000  # rows per file
SECRET = "a-ticket-secret-of-the-test-cluster-0123456789"
GROUPED = "SELECT g, count(*) AS n, sum(v) AS v FROM t GROUP BY g ORDER BY g"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Table t: FILES Parquet files, file i holding ids i*ROWS..(i+1)*ROWS-1,
    g = id % 10, v = id * 0.5."""
    d = tmp_path_factory.mktemp("scale")
    (d / "t").mkdir()
    con = duckdb.connect()
    for i in range(FILES):
        con.execute(f"COPY (SELECT i AS id, (i % 10)::INTEGER AS g, i * 0.5::DOUBLE AS v, (i % 100) * 0.01 AS d FROM range({i * ROWS}, {(i + 1) * ROWS}) r(i)) "
                    f"TO '{d / 't' / f'f{i}.parquet'}' (FORMAT parquet)")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{d / 't'}/*.parquet')")
    return d, con


@pytest.fixture(scope="module")
def replicas(qry_bin, data):
    """Two replicas over the same files, one ticket secret, each listing
    both as the locations of a result's parts."""
    d, _ = data

    def args(ports, i):
        return ["--data", str(d), "--listen", f"127.0.0.1:{ports[i]}", "--threads", "1", "--batch-rows", "4096",
                "--advertise", ",".join(f"grpc://127.0.0.1:{p}" for p in ports)]
    _, servers = start_on_ports(qry_bin, 2, args, env={"QRY_TICKET_SECRET": SECRET})
    yield servers
    for s in servers:
        if s.alive():
            s.proc.terminate()
            s.proc.wait(timeout=30)


def want_grouped(con):
    return con.execute(GROUPED).fetchall()


def grouped(df):
    """GROUPED computed by pandas from t's rows."""
    agg = df.groupby("g").agg(n=("id", "size"), v=("v", "sum")).reset_index().sort_values("g")
    return [(int(g), int(n), float(v)) for g, n, v in agg.itertuples(index=False)]


def test_plan_parts_and_read_them(replicas, data):
    _, con = data
    a = replicas[0]
    plan = qry.partitions("SELECT id, g, v FROM t WHERE g <> 3", a.url, partitions=4)
    assert len(plan.parts) == 4 and not plan.ordered
    # Each part names both replicas, a different one first by turns.
    assert [p.locations[0] for p in plan.parts] == [replicas[i % 2].url for i in range(4)]
    assert all(set(p.locations) == {r.url for r in replicas} for p in plan.parts)
    got = sum(qry.read_partition(p).num_rows for p in plan.parts)
    assert got == con.execute("SELECT count(*) FROM t WHERE g <> 3").fetchone()[0]
    # read_pandas reads every part.
    df = qry.read_pandas("SELECT id, g, v FROM t WHERE g <> 3", a.url)
    assert len(df) == got and df["id"].is_unique

    # An ordered result is one part, and says so.
    plan = qry.partitions("SELECT id FROM t WHERE id < 10 ORDER BY id DESC", a.url, partitions=4)
    assert len(plan.parts) == 1 and plan.ordered
    assert qry.read_arrow("SELECT id FROM t WHERE id < 10 ORDER BY id DESC", a.url).column(0).to_pylist() == list(range(9, -1, -1))


def test_adbc_execute_partitions(replicas, data):
    """ADBC's own partitioned reads: adbc_execute_partitions plans, and any
    process reads a partition with adbc_read_partition."""
    _, con = data
    sql = "SELECT id, v FROM t WHERE id % 1000 = 7"
    opts = {"adbc.flight.sql.rpc.call_header.x-qry-partitions": "5"}
    with flight_sql.connect(replicas[0].url, conn_kwargs=opts) as conn, conn.cursor() as cur:
        parts, schema = cur.adbc_execute_partitions(sql)
    assert len(parts) == 5
    assert schema.names == ["id", "v"]
    rows = []
    with qry.connect(replicas[1].url) as conn:  # another process's view: the other replica
        for p in parts:
            with conn.cursor() as cur:
                cur.adbc_read_partition(p)
                rows += cur.fetchall()
    assert sorted(rows) == sorted(con.execute(sql).fetchall())


def test_dask_map_reduce(replicas, data):
    """The seed's map-reduce on Dask: per-part filters in qry, the group-by's
    shuffle and merge in Dask, on a LocalCluster of worker processes."""
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    _, con = data
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        ddf = qry.dask.read_sql("SELECT id, g, v, d FROM t WHERE id % 3 = 0", replicas[0].url, partitions=8)
        assert ddf.npartitions == 8
        assert list(ddf.columns) == ["id", "g", "v", "d"]
        agg = ddf.groupby("g").agg({"id": "count", "v": "sum", "d": "sum"}).compute().sort_index()
    want = con.execute("SELECT g, count(*), sum(v), sum(d) FROM t WHERE id % 3 = 0 GROUP BY g ORDER BY g").fetchall()
    # Decimals stay exact numbers.
    assert [(int(g), int(r.id), float(r.v), r.d) for g, r in agg.iterrows()] == [(g, n, pytest.approx(v), d) for g, n, v, d in want]


def test_ray_dataset(replicas, data):
    ray = pytest.importorskip("ray")
    _, con = data
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        ds = qry.ray.read_sql("SELECT id, g, v FROM t WHERE g IN (1, 2)", replicas[0].url, partitions=6)
        got = ds.groupby("g").sum("v").to_pandas().sort_values("g")
        n = ds.count()
    finally:
        ray.shutdown()
    want = con.execute("SELECT g, sum(v) FROM t WHERE g IN (1, 2) GROUP BY g ORDER BY g").fetchall()
    assert [(int(g), float(v)) for g, v in got.itertuples(index=False)] == [(g, pytest.approx(v)) for g, v in want]
    assert n == con.execute("SELECT count(*) FROM t WHERE g IN (1, 2)").fetchone()[0]


def test_spark_dataframe(replicas, data):
    if not shutil.which("java"):
        pytest.skip("no Java: Spark needs it")
    pyspark = pytest.importorskip("pyspark.sql")
    _, con = data
    # The executors' Python is this one, where qry is installed.
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    spark = (pyspark.SparkSession.builder.master("local[2]").appName("qry-test")
             .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate())
    try:
        df = qry.spark.read_sql(spark, "SELECT id, g, v FROM t WHERE v > 100000", replicas[1].url, partitions=4)
        assert df.rdd.getNumPartitions() == 4
        got = sorted((r["g"], r["n"], r["s"]) for r in df.groupBy("g").agg({"id": "count", "v": "sum"})
                     .withColumnRenamed("count(id)", "n").withColumnRenamed("sum(v)", "s").collect())
    finally:
        spark.stop()
    want = con.execute("SELECT g, count(*), sum(v) FROM t WHERE v > 100000 GROUP BY g ORDER BY g").fetchall()
    assert got == [(g, n, pytest.approx(v)) for g, n, v in want]


def test_replica_killed_mid_read(qry_bin, data):
    """Kill -9 one replica while it streams a part: the failure is one qry
    retries, the part is read whole from the other replica, and Dask's
    result over every part is exact (not short, not doubled)."""
    d, con = data
    def args(ports, i):
        return ["--data", str(d), "--listen", f"127.0.0.1:{ports[i]}", "--batch-rows", "2048",
                "--advertise", ",".join(f"grpc://127.0.0.1:{p}" for p in ports)]
    ports, servers = start_on_ports(qry_bin, 2, args, env={"QRY_TICKET_SECRET": SECRET})
    urls = [f"grpc://127.0.0.1:{p}" for p in ports]
    try:
        victim, survivor = servers
        sql = "SELECT id, g, v FROM t"
        plan = qry.partitions(sql, victim.url, partitions=2)
        assert [p.locations[0] for p in plan.parts] == urls
        first = plan.parts[0]  # the victim's to serve

        reader = flight.FlightClient(victim.url).do_get(flight.Ticket(first.ticket))
        reader.read_chunk()  # the stream is under way
        os.kill(victim.pid, signal.SIGKILL)
        victim.proc.wait()
        with pytest.raises(qry.RETRYABLE):
            reader.read_all()

        # Read again: the victim refuses connections, the survivor serves
        # the whole part; with the other part, every row once.
        ids = qry.read_partition(first).column("id").to_pylist() + qry.read_partition(plan.parts[1]).column("id").to_pylist()
        assert len(ids) == len(set(ids)) == FILES * ROWS

        distributed = pytest.importorskip("distributed")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            df = qry.dask.read_sql(sql, survivor.url, partitions=4).compute()
        assert len(df) == FILES * ROWS and df["id"].is_unique
        assert grouped(df) == [(g, n, pytest.approx(v)) for g, n, v in want_grouped(con)]

        # A plan made before the kill, read after it: every part whose
        # first location is the victim falls back to the survivor.
        plan = qry.partitions(sql, survivor.url, partitions=4)
        ids = set()
        for p in plan.parts:
            ids.update(qry.read_partition(p).column("id").to_pylist())
        assert len(ids) == FILES * ROWS
    finally:
        for s in servers:
            if s.alive():
                s.proc.kill()
                s.proc.wait()
