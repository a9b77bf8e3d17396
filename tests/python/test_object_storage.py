"""A server whose data root is on a real S3-compatible server (SeaweedFS,
built by scripts/seaweedfs.sh): pandas over Flight SQL gets what DuckDB
(the Python package) reads from the local copy of the same files."""
import pathlib

import adbc_driver_flightsql.dbapi as flight_sql
import pytest

from conftest import ROOT, S3_ENV, SAMPLE, SECRET, s3_filesystem, start_server


@pytest.fixture(scope="module")
def s3_server(qry_bin, seaweed):
    fs = s3_filesystem(seaweed)
    fs.create_dir("lake")
    for f in SAMPLE.rglob("*"):
        if f.is_file():  # objects only: no folder markers
            with fs.open_output_stream(f"lake/sample/{f.relative_to(SAMPLE).as_posix()}") as out:
                out.write(f.read_bytes())
    ext = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    srv = start_server(qry_bin, "--data", "s3://lake/sample/", "--s3-endpoint", seaweed, "--extension-dir", str(ext), env=S3_ENV)
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
