"""The TPC-H peer benchmark (benchmarks/peers/run.sh) at a tiny scale factor:
every system that ran must answer all 22 queries as DuckDB does. Timings are
not checked (two shared cores make them noise at SF 0.01)."""
import json
import os
import pathlib
import signal
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
SF = "0.01"
RESULTS = ROOT / "benchmarks" / "data" / "peers" / f"results-sf{SF}.json"

# (system, query) pairs a peer cannot run or answers differently at this
# scale factor, each with the error that justifies it. Empty: at SF 0.01,
# with tpchgen-cli 4.0.0, DataFusion 55, Polars 2.1 and ROAPI 0.12.7, every
# system answers all 22 queries. (At SF 1 ROAPI fails q10: "grpc: received
# message larger than max (47696921 vs. 16777216)", its 20-row answer sent
# as string views over whole buffers; at SF 0.01 those buffers are small.)
# qry itself never belongs here.
EXPECTED_FAILURES = set()


def test_peers_bench(qry_bin):
    RESULTS.unlink(missing_ok=True)
    env = dict(os.environ, QRY_BIN=str(qry_bin))
    # A session of its own, so that on a timeout the script, its Python and
    # the servers it started can all be stopped.
    proc = subprocess.Popen(["bash", "benchmarks/peers/run.sh", SF], cwd=ROOT, env=env, start_new_session=True)
    try:
        rc = proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        raise
    assert rc == 0, f"benchmarks/peers/run.sh {SF} exited {rc}"

    res = json.loads(RESULTS.read_text())
    systems = res["systems"]
    ran = [k for k, s in systems.items() if not s.get("skipped")]
    assert {"duckdb", "qry", "datafusion", "polars", "roapi"} <= set(ran)
    failures = {(k, q): r["error"] for k in ran for q, r in systems[k]["queries"].items() if not r["correct"]}
    assert not {k: v for k, v in failures.items() if k[0] in ("duckdb", "qry")}, failures
    unexpected = {k: v for k, v in failures.items() if k not in EXPECTED_FAILURES}
    assert not unexpected, unexpected
    assert systems["qry"]["correct"] == 22 and systems["duckdb"]["correct"] == 22
    for k in ran:
        assert len(systems[k]["queries"]) == 22
        expected = 22 - sum(1 for f in EXPECTED_FAILURES if f[0] == k)
        assert systems[k]["correct"] >= expected, (k, systems[k]["correct"])
    # Each system's cost per query (SELECT 1) was measured, and qry's floor
    # worked out from it.
    for k in ran:
        assert systems[k].get("select1_seconds", 0) > 0, (k, systems[k].get("select1_seconds"))
    assert systems["qry"]["select1_floor_ratio"] > 1, systems["qry"].get("select1_floor_ratio")
    # The bulk transfer ran through every path.
    for k in ("parquet", "duckdb", "qry", "roapi"):
        assert res["bulk"][k].get("rows") == res["bulk"]["parquet"]["rows"], (k, res["bulk"][k])
