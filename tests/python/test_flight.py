"""Plain pyarrow.flight against a real qry server: SQL text is the command."""
import pyarrow as pa
import pyarrow.flight as fl
import pytest


@pytest.fixture
def client(server):
    c = fl.connect(server.url)
    yield c
    c.close()


def test_command_is_sql(client, ref):
    sql = "SELECT sky, count(*) AS days, round(avg(temp_c), 3) AS t FROM weather GROUP BY sky ORDER BY sky"
    info = client.get_flight_info(fl.FlightDescriptor.for_command(sql.encode()))
    table = client.do_get(info.endpoints[0].ticket).read_all()
    assert info.schema == table.schema
    assert [tuple(r.values()) for r in table.to_pylist()] == ref.sql(sql).fetchall()


def test_ticket_is_sql(client, ref):
    sql = "SELECT max(fare), min(distance_km) FROM trips"
    table = client.do_get(fl.Ticket(sql.encode())).read_all()
    assert [tuple(r.values()) for r in table.to_pylist()] == ref.sql(sql).fetchall()


def test_path_is_a_table(client, ref):
    info = client.get_flight_info(fl.FlightDescriptor.for_path("weather"))
    df = client.do_get(info.endpoints[0].ticket).read_pandas()
    assert len(df) == ref.execute("SELECT count(*) FROM weather").fetchall()[0][0]


def test_bad_sql_is_a_clean_error(client, server):
    with pytest.raises(pa.ArrowException, match="syntax error"):
        client.get_flight_info(fl.FlightDescriptor.for_command(b"SELEC 1"))
    with pytest.raises(pa.ArrowException, match="does not exist"):
        client.do_get(fl.Ticket(b"SELECT * FROM nowhere")).read_all()
    assert client.do_get(fl.Ticket(b"SELECT 1 AS one")).read_all().column(0).to_pylist() == [1]
    assert server.alive()
