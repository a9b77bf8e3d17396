"""The Kubernetes manifests agree with qry: the ConfigMap's qry.yaml checks
out, and the Deployment's ports and probes are the ones qry serves."""
import pathlib
import subprocess
import urllib.request

import yaml

from conftest import ROOT, SAMPLE, start_server

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
    assert [e["name"] for e in c["env"]][0] == "QRY_TOKENS"

    # The probes' paths answer 200 on a real server with the same token
    # variable the Secret feeds.
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
