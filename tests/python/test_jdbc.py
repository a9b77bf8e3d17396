"""The Flight SQL JDBC driver (Maven Central) against a real qry server."""
import os
import pathlib
import shutil
import subprocess

import pytest

JDBC = pathlib.Path(__file__).resolve().parents[1] / "jdbc"


@pytest.mark.skipif(shutil.which("mvn") is None, reason="needs Maven and a JDK")
def test_jdbc_driver(server, ref, tmp_path):
    payments = ";".join(
        f"{p},{n},{float(t)!r}" for p, n, t in
        ref.sql("SELECT payment, count(*), round(sum(fare), 2) FROM trips GROUP BY ALL ORDER BY payment").fetchall())
    expected = {
        "payments": payments,
        "pax3": ref.execute("SELECT count(*) FROM trips WHERE passengers >= 3").fetchall()[0][0],
        "tables": "qry.main.trips;qry.main.weather;qry.main.zones",
        "weather_columns": ";".join(r[0] for r in ref.sql("DESCRIBE weather").fetchall()),
    }
    exp = tmp_path / "expected.tsv"
    exp.write_text("".join(f"{k}\t{v}\n" for k, v in expected.items()))
    port = server.url.rsplit(":", 1)[1]
    proc = subprocess.run(
        ["mvn", "-q", "-B", "test", f"-Dqry.port={port}", f"-Dqry.expected={exp}"],
        cwd=JDBC, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-5000:]
    assert server.alive()
