"""The operator as `manifests/base` installs it, on the sandbox: two replicas, one active,
the active one killed mid-canary, the standby finishing the rollout. The failover time
is printed.

No container runtime exists here, so each replica of the Deployment is the local process
its container would run: the Deployment's own `args` and `env` (from `kubectl kustomize
manifests/base`), `$(VAR)` references expanded as the kubelet does, the ConfigMap's
configuration read back from the cluster, and the ServiceAccount's identity (the
sandbox's operator kubeconfig, whose only rights are the shipped RBAC). Four things
change, each for the shared loopback sandbox: the liveness and metrics ports (free
loopback ports), the configuration path, `--kubeconfig`, and `--all-namespaces` becomes
this test's namespace (other tests' Releases belong to their own operators).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from sandbox.gateway.client import GatewayClient, summarize
from sandbox.releases import die_with_parent
from tests.integration.ops.conftest import kustomize
from tests.integration.support import Releases, release_manifest, wait_for

OPERATOR_NS = "ripcord-system"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shipped_container() -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(kustomize("base")) if d]
    dep = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "ripcord-operator")
    [container] = dep["spec"]["template"]["spec"]["containers"]
    return container


class Replica:
    """One replica of the shipped Deployment, as a local process."""

    def __init__(self, pod_name: str, *, kubeconfig: Path, namespace: str, config: Path, log: Path) -> None:
        c = shipped_container()
        env = {"POD_NAME": pod_name, "POD_NAMESPACE": OPERATOR_NS}
        for e in c["env"]:
            if "value" in e:
                env[e["name"]] = e["value"]
            else:
                field = e["valueFrom"]["fieldRef"]["fieldPath"]
                env[e["name"]] = {"metadata.name": pod_name, "metadata.namespace": OPERATOR_NS}[field]
        self.liveness_port, self.metrics_port = free_port(), free_port()
        args = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in c["args"]]
        replaced = {"--all-namespaces": f"--namespace={namespace}"}
        for a in args:
            if a.startswith("--config="):
                replaced[a] = f"--config={config}"
            elif a.startswith("--liveness="):
                replaced[a] = f"--liveness=http://127.0.0.1:{self.liveness_port}/healthz"
            elif a.startswith("--metrics-port="):
                replaced[a] = f"--metrics-port={self.metrics_port}"
        self.argv = [sys.executable, "-m", "ripcord.cli.main", "run", *[replaced.get(a, a) for a in args],
                     f"--kubeconfig={kubeconfig}"]
        self.env = {**os.environ, **env, "HOME": str(log.parent), "TMPDIR": str(log.parent)}
        self.pod_name, self.log = pod_name, log
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def start(self) -> "Replica":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True, preexec_fn=die_with_parent)
        return self

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def exited(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:]) if self.log.exists() else ""

    def get(self, port: int, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""
        except OSError:  # not listening (yet, or any more)
            return 0, ""

    def metric(self, name: str, **labels: str) -> Optional[float]:
        status, text = self.get(self.metrics_port, "/metrics")
        for line in text.splitlines():
            if not line.startswith(name):
                continue
            head, _, value = line.rpartition(" ")
            if head.split("{")[0] != name:
                continue
            have = dict(re.findall(r'(\w+)="([^"]*)"', head))
            if all(have.get(k) == v for k, v in labels.items()):
                return float(value)
        return None


def holder(kube: client.ApiClient, name: str) -> Optional[str]:
    try:
        return client.CoordinationV1Api(kube).read_namespaced_lease(name, OPERATOR_NS).spec.holder_identity or ""
    except ApiException as e:
        if e.status == 404:
            return None
        raise


@pytest.fixture
def replicas(sandbox_install: Any, ripcord_installed: Any, kube: client.ApiClient, namespace: str,
             tmp_path: Path) -> Iterator[tuple[Replica, Replica, str]]:
    lease = next(a.split("=", 1)[1] for a in shipped_container()["args"] if a.startswith("--lease-name="))
    try:  # a Lease left by an earlier run would make its holder's name a live leader
        client.CoordinationV1Api(kube).delete_namespaced_lease(lease, OPERATOR_NS)
    except ApiException as e:
        if e.status != 404:
            raise
    cm = client.CoreV1Api(kube).read_namespaced_config_map("ripcord-config", OPERATOR_NS)
    text = cm.data["config.yaml"]
    # A sandbox at a port offset (RIPCORD_SANDBOX_PORT_OFFSET) has its Prometheus elsewhere.
    text = text.replace("http://127.0.0.1:19090", sandbox_install.prometheus_url.rstrip("/"))
    config = tmp_path / "config.yaml"
    config.write_text(text)
    made = [Replica(f"ripcord-operator-{x}", kubeconfig=sandbox_install.operator_kubeconfig, namespace=namespace,
                    config=config, log=tmp_path / f"replica-{x}.log") for x in ("a", "b")]
    yield made[0], made[1], lease
    for r in made:
        r.signal(signal.SIGTERM)
    for r in made:
        print(f"\n--- {r.pod_name} log (tail) ---\n{r.tail(25)}")


@pytest.mark.integration
def test_standby_finishes_the_rollout_when_the_active_replica_is_killed(
        replicas: tuple[Replica, Replica, str], releases: Releases, kube: client.ApiClient, namespace: str) -> None:
    a, b, lease = replicas
    a.start()
    wait_for(lambda: holder(kube, lease) == a.pod_name or a.exited() is not None, 30, "replica a to lead")
    assert holder(kube, lease) == a.pod_name, a.tail()
    b.start()
    wait_for(lambda: b.get(b.liveness_port, "/healthz")[0] == 200, 30, "the standby's liveness endpoint")
    assert holder(kube, lease) == a.pod_name and b.exited() is None
    wait_for(lambda: a.metric("ripcord_leader") == 1 and b.metric("ripcord_leader") == 0, 15,
             "ripcord_leader 1 on the active replica, 0 on the standby")

    name = "web"
    steps = {"steps": [20, 50], "analysis": {"interval": "2s", "stepDuration": "10s", "postPromotionWatch": "6s",
                                             "metrics": []}}
    releases.apply(release_manifest(name, "1.0.0", **steps))
    releases.wait_phase(name, "Stable", timeout=90)
    gw = GatewayClient()
    load = f"{namespace}-{name}"
    gw.put_load(load, namespace, service=name, rps=40, paths=["/api/status"])
    try:
        gw.wait_rows(load, lambda rows: summarize(rows)["ok"] >= 40, timeout_s=30)
        releases.apply(release_manifest(name, "2.0.1", **steps))
        wait_for(lambda: (s := releases.status(name)).get("rollout", {}).get("weight") == 20 and s, 60,
                 "the canary at its first step")

        killed_at = time.monotonic()
        a.signal(signal.SIGKILL)  # the active replica dies mid-canary, its Lease still held
        wait_for(lambda: holder(kube, lease) == b.pod_name, 60, "the standby to take the Lease")
        failover = time.monotonic() - killed_at
        print(f"\nfailover: the standby held the Lease {failover:.1f} s after the active replica was killed "
              f"mid-canary")

        status = releases.wait_outcome(name, "Promoted", rollout_id=2, timeout=180)
        rows = gw.wait_rows(load, lambda rows: bool(rows), timeout_s=5)
    finally:
        gw.delete_load(load)

    assert status["stable"]["version"] == "2.0.1"
    entries = [h for h in status["history"] if h["id"] == 2]
    assert len(entries) == 1, "one history entry for the rollout, across the failover"
    events = [t["event"] for t in entries[0]["timeline"]]
    assert events.count("Started") == 1 and events.count("StepStarted") == 2 and events[-1] == "Promoted", events
    summary = summarize(rows)
    assert summary["failed"] == 0, f"requests failed across the failover: {summary}"
    assert b.metric("ripcord_leader") == 1
    assert b.metric("ripcord_promotions_total", namespace=namespace, release=name) == 1

    b.signal(signal.SIGTERM)  # a clean shutdown hands the Lease back
    assert b.exited() is not None
    assert holder(kube, lease) == ""
