"""The Kubernetes manifests agree with qry: the ConfigMap's qry.yaml checks
out, and the Deployment's ports and probes are the ones qry serves."""
import pathlib
import subprocess
import urllib.request

import yaml

from conftest import ROOT, SAMPLE, start_on_ports, start_server

DEPLOY = ROOT / "deploy" / "kubernetes"


def load(name):
    return yaml.safe_load((DEPLOY / name).read_text())


def test_configmap_qry_yaml_checks_out(qry_bin, tmp_path):
    text = load("configmap.yaml")["data"]["qry.yaml"]
    # The cluster's paths, pointed at this machine's sample data.
    text = text.replace("data: [/data]", f"data: [{SAMPLE}]").replace("/var/cache/qry", str(tmp_path / "cache"))
    cfg = tmp_path / "qry.yaml"
    cfg.write_text(text)
    out = subprocess.run([str(qry_bin), "config", "check", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith("settings)")


def test_deployment_matches_the_server(qry_bin, tmp_path):
    dep = load("deployment.yaml")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    cfg = yaml.safe_load(load("configmap.yaml")["data"]["qry.yaml"])
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert cfg["server"]["listen"].endswith(f":{ports['flight']}")
    assert cfg["server"]["http"].endswith(f":{ports['http']}")
    assert c["args"][:2] == ["serve", "--config"]
    assert any(m["mountPath"] == str(pathlib.Path(c["args"][2]).parent) for m in c["volumeMounts"])
    assert c["env"][0]["name"] == "QRY_THREADS"
    assert c["env"][0]["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"

    # The probes' paths answer 200 on a real server with tokens.
    srv = start_server(qry_bin, "--data", str(SAMPLE), "--http", "127.0.0.1:0",
                       env={"QRY_TOKENS": "probe:" + "p" * 20})
    try:
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            path = c[probe]["httpGet"]["path"]
            assert c[probe]["httpGet"]["port"] == "http"
            with urllib.request.urlopen(srv.http + path) as resp:
                assert resp.status == 200, probe
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)


def flag(args, name):
    return args[args.index(name) + 1]


def test_replicas_flags_and_reload(qry_bin, tmp_path):
    """The Deployment's own flags on a real server, with its Secrets' files
    and its headless Service's name pointed here: parts list the replicas,
    and a rotated token or ticket secret takes effect without a restart."""
    import signal

    import pyarrow.flight as flight

    c = load("deployment.yaml")["spec"]["template"]["spec"]["containers"][0]
    args = c["args"]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    secrets = {v["name"]: v for v in load("deployment.yaml")["spec"]["template"]["spec"]["volumes"]}["secrets"]
    paths = {i["path"] for src in secrets["projected"]["sources"] for i in src["secret"]["items"]}
    tokens_file, secret_file = flag(args, "--tokens"), flag(args, "--ticket-secret-file")
    for f in (tokens_file, secret_file):
        assert f.startswith(mounts["secrets"] + "/") and f.split("/")[-1] in paths
    service = flag(args, "--advertise-service")
    headless = [d for d in yaml.safe_load_all((DEPLOY / "service.yaml").read_text()) if d["spec"].get("clusterIP") == "None"]
    assert len(headless) == 1 and service.split(":")[0] == headless[0]["metadata"]["name"]
    assert int(service.split(":")[1]) == headless[0]["spec"]["ports"][0]["port"]

    old, new = "old-token-" + "o" * 20, "new-token-" + "n" * 20
    tok = tmp_path / "tokens"
    tok.write_text(f"analyst:{old}\n")
    sec = tmp_path / "ticket-secret"
    sec.write_text("first-secret-" + "1" * 32 + "\n")
    data = tmp_path / "data" / "t"
    data.mkdir(parents=True)
    import duckdb
    for i in range(4):
        duckdb.sql(f"COPY (SELECT range AS id FROM range({i * 10}, {i * 10 + 10})) TO '{data / f'p{i}.parquet'}' (FORMAT parquet)")
    ports, (srv,) = start_on_ports(qry_bin, 1, lambda ports, _: [
        "--data", str(tmp_path / "data"), "--listen", f"127.0.0.1:{ports[0]}", "--tokens", str(tok),
        "--ticket-secret-file", str(sec), "--advertise-service", f"localhost:{ports[0]}"])
    port = ports[0]
    try:
        client = flight.FlightClient(srv.url)

        def call(token, **headers):
            h = [(b"authorization", f"Bearer {token}".encode())] + [(k.encode(), v.encode()) for k, v in headers.items()]
            return flight.FlightCallOptions(headers=h)

        info = client.get_flight_info(flight.FlightDescriptor.for_command("SELECT id FROM t"), call(old, **{"x-qry-partitions": "2"}))
        assert len(info.endpoints) == 2
        # localhost resolves to this replica: its address is each part's location.
        assert any(f"127.0.0.1:{port}" in str(loc) for loc in info.endpoints[0].locations)
        rows = sum(client.do_get(ep.ticket, call(old)).read_all().num_rows for ep in info.endpoints)
        assert rows == 40

        # Rotate the token: the old one is refused, the new one works.
        tok.write_text(f"analyst:{new}\n")
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: loads(srv, "tokens loaded") == 2)
        assert refused(client, old)
        assert client.get_flight_info(flight.FlightDescriptor.for_command("SELECT 1"), call(new)).total_records is not None

        # Rotate the ticket secret, keeping the first as a checking one:
        # tickets already handed out still read; once the old secret is
        # dropped, they are refused.
        sec.write_text("second-secret-" + "2" * 32 + "\nfirst-secret-" + "1" * 32 + "\n")
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: loads(srv, "ticket secrets loaded") == 2)
        assert client.do_get(info.endpoints[0].ticket, call(new)).read_all().num_rows > 0
        sec.write_text("second-secret-" + "2" * 32 + "\n")
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: loads(srv, "ticket secrets loaded") == 3)
        assert ticket_refused(client, info.endpoints[0].ticket, call(new))
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)


def refused(client, token):
    import pyarrow.flight as flight
    try:
        client.get_flight_info(flight.FlightDescriptor.for_command("SELECT 1"),
                               flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())]))
        return False
    except flight.FlightUnauthenticatedError:
        return True


def ticket_refused(client, ticket, opts):
    import pyarrow.flight as flight
    try:
        client.do_get(ticket, opts).read_all()
        return False
    except flight.FlightUnauthenticatedError:
        return True


def loads(srv, what):
    """How many times the server's log says it loaded what."""
    return pathlib.Path(srv.log).read_text().count(what)


def wait_for(cond, timeout=60):
    """Waits for a condition that a signal's handling makes true: the
    timeout bounds a hang, it is not what the test measures."""
    import time
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "condition not met"
        time.sleep(0.05)


def test_writer_and_autoscaler(qry_bin, tmp_path):
    """The writer's qry.yaml checks out and it runs as exactly one; the
    autoscaler scales the Deployment on metrics qry serves."""
    docs = list(yaml.safe_load_all((DEPLOY / "writer.yaml").read_text()))
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    assert sts["spec"]["replicas"] == 1
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    text = cm["data"]["qry.yaml"].replace("/data/", str(tmp_path / "data") + "/").replace("/var/lib/qry", str(tmp_path / "wal")) \
        .replace("/var/cache/qry", str(tmp_path / "cache"))
    cfg = tmp_path / "writer.yaml"
    cfg.write_text(text)
    out = subprocess.run([str(qry_bin), "config", "check", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert sts["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == cm["metadata"]["name"]

    hpa = load("hpa.yaml")
    assert hpa["spec"]["scaleTargetRef"]["name"] == load("deployment.yaml")["metadata"]["name"]
    comment = (DEPLOY / "hpa.yaml").read_text()
    srv = start_server(qry_bin, "--data", str(SAMPLE), "--http", "127.0.0.1:0")
    try:
        metrics = urllib.request.urlopen(srv.http + "/metrics").read().decode()
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)
    for name in ("qry_queries_running", "qry_queries_waiting"):
        assert name in comment and f"\n{name} " in metrics, name
