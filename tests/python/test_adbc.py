"""ADBC (the DB-API driver and pandas) against a real qry server."""
import adbc_driver_flightsql.dbapi as flight_sql
import pandas as pd
import pyarrow as pa
import pytest

QUERIES = [
    "SELECT payment, count(*) AS n, round(sum(tip), 2) AS tips, min(pickup_at) AS first FROM trips GROUP BY ALL ORDER BY ALL",
    "SELECT trip_id, fare, distance_km, year, month FROM trips WHERE fare > 45 ORDER BY trip_id",
    "SELECT day, temp_c, sky FROM weather WHERE rain_mm > 20 ORDER BY day",
]


@pytest.fixture
def conn(server):
    with flight_sql.connect(server.url) as c:
        yield c


@pytest.mark.parametrize("sql", QUERIES)
def test_fetch_arrow_table_matches_duckdb(conn, ref, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        got = cur.fetch_arrow_table()
    want = ref.sql(sql).fetchall()
    assert got.num_rows == len(want) > 0
    assert [tuple(r.values()) for r in got.to_pylist()] == want


def test_fetch_df_and_pandas_read_sql(conn, ref):
    sql = QUERIES[0]
    want = ref.sql(sql).df()
    with conn.cursor() as cur:
        cur.execute(sql)
        df = cur.fetch_df()
    pd.testing.assert_frame_equal(df.reset_index(drop=True), want, check_dtype=False)
    df2 = pd.read_sql(sql, conn)
    pd.testing.assert_frame_equal(df2, want, check_dtype=False)


def test_parameters(conn, ref):
    sql = "SELECT count(*), round(avg(fare), 4) FROM trips WHERE payment = ? AND passengers >= ?"
    with conn.cursor() as cur:
        for payment, pax in [("card", 3), ("app", 1), ("cash", 4)]:
            cur.execute(sql, (payment, pax))
            assert cur.fetchall() == ref.execute(sql, [payment, pax]).fetchall()


def test_get_objects_and_table_schema(conn, ref):
    objs = conn.adbc_get_objects(depth="all").read_all().to_pylist()
    assert [c["catalog_name"] for c in objs] == ["qry"]
    schemas = objs[0]["catalog_db_schemas"]
    assert [s["db_schema_name"] for s in schemas] == ["main"]
    tables = {t["table_name"]: t for t in schemas[0]["db_schema_tables"]}
    assert set(tables) == {"trips", "weather", "zones"}
    cols = [c["column_name"] for c in tables["weather"]["table_columns"]]
    assert cols == [r[0] for r in ref.sql("DESCRIBE weather").fetchall()]

    schema = conn.adbc_get_table_schema("trips")
    # qry orders hive partition columns as the path does (year, month).
    assert sorted(schema.names) == sorted(r[0] for r in ref.sql("DESCRIBE trips").fetchall())
    assert schema.names[-2:] == ["year", "month"]
    assert schema.field("pickup_at").type == pa.timestamp("us")
    assert conn.adbc_get_table_types() == ["TABLE"]


def test_get_info(conn):
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "qry"
    assert info["vendor_arrow_version"]


def test_errors_are_clean_and_server_keeps_serving(conn, server):
    with conn.cursor() as cur:
        with pytest.raises(flight_sql.ProgrammingError, match="syntax error"):
            cur.execute("SELECT * FORM trips")
        with pytest.raises(flight_sql.Error, match="not allowed"):
            cur.execute("CREATE TABLE t AS SELECT 1")
        with pytest.raises(flight_sql.Error, match='"nope"'):
            cur.execute("SELECT nope FROM trips")
        cur.execute("SELECT 40 + 2")
        assert cur.fetchone() == (42,)
    assert server.alive()


def test_geometry_arrives_as_geoarrow_wkb(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT name, geometry FROM zones ORDER BY zone_id LIMIT 1")
        t = cur.fetch_arrow_table()
    field = t.schema.field("geometry")
    assert field.metadata[b"ARROW:extension:name"] == b"geoarrow.wkb"
    wkb = t.column("geometry")[0].as_py()
    # little-endian WKB polygon: byte order 1, type 3
    assert wkb[0] == 1 and int.from_bytes(wkb[1:5], "little") == 3
