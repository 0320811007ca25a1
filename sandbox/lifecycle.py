"""Bring the whole sandbox up, report on it, and take it down again."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from . import cluster, layout, prometheus, proc
from .layout import HOST, REPO_ROOT, Paths
from .proc import Component, SandboxError

Echo = Callable[[str], None]
BUILD_SCRIPT = REPO_ROOT / "sandbox" / "scripts" / "build-kube.sh"
HTTPROUTE_CRD = REPO_ROOT / "crds" / "httproute.yaml"
ISTIO_CRD = REPO_ROOT / "crds" / "istio.yaml"  # VirtualService, DestinationRule (trimmed)
LOCK_TIMEOUT = 900.0  # a cold `up` may include the kube build


@dataclass(frozen=True)
class Sandbox:
    """How to reach a running sandbox."""

    state_dir: Path
    admin_kubeconfig: Path
    operator_kubeconfig: Path
    apiserver_url: str
    prometheus_url: str
    gateway_url: str
    gateway_dir: Path
    pod_logs_dir: Path
    operator_audit_log: Path  # the API server's audit log of the operator identity's requests

    @classmethod
    def from_paths(cls, paths: Paths) -> "Sandbox":
        return cls(state_dir=paths.root, admin_kubeconfig=paths.admin_kubeconfig,
                   operator_kubeconfig=paths.operator_kubeconfig, apiserver_url=cluster.apiserver_url(),
                   prometheus_url=prometheus.url(), gateway_url=f"http://{HOST}:{layout.GATEWAY_PORT}",
                   gateway_dir=paths.gateway_dir, pod_logs_dir=paths.pod_logs,
                   operator_audit_log=paths.operator_audit_log)

    def api_client(self, operator: bool = False):
        """A ``kubernetes.client.ApiClient`` for the admin (or the operator) identity."""
        from kubernetes import config

        kc = self.operator_kubeconfig if operator else self.admin_kubeconfig
        return config.new_client_from_config(config_file=str(kc))


@dataclass
class UpResult:
    sandbox: Sandbox
    started: list[str] = field(default_factory=list)  # components this call started
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


# --- components -----------------------------------------------------------------------

def _tcp_open(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=1):
        return True


def kubelet(paths: Paths) -> Component:
    def healthy() -> bool:
        status, body = cluster._get(f"https://{HOST}:{layout.KUBELET_PORT}/healthz", verify=False)
        return status == 200
    return Component(
        name="kubelet", argv=[sys.executable, "-m", "sandbox.kubelet", "--kubeconfig", str(paths.admin_kubeconfig),
                              "--state-dir", str(paths.root)],
        env={"PYTHONPATH": str(REPO_ROOT)}, cwd=str(paths.root), health=healthy,
        address=f"https://{HOST}:{layout.KUBELET_PORT}", start_timeout=60, stop_timeout=30)


def gateway_available() -> bool:
    try:
        return importlib.util.find_spec("sandbox.gateway") is not None
    except ImportError:
        return False


def gateway(paths: Paths) -> Component:
    return Component(
        name="gateway", argv=[sys.executable, "-m", "sandbox.gateway", "--listen", f"{HOST}:{layout.GATEWAY_PORT}",
                              "--kubeconfig", str(paths.admin_kubeconfig), "--state-dir", str(paths.root)],
        env={"PYTHONPATH": str(REPO_ROOT)}, cwd=str(paths.root), health=lambda: _tcp_open(layout.GATEWAY_PORT),
        address=f"http://{HOST}:{layout.GATEWAY_PORT}", start_timeout=60)


def components(paths: Paths, tokens: dict[str, str]) -> list[Component]:
    """In start order."""
    return [cluster.etcd(paths), cluster.apiserver(paths, tokens), cluster.controller_manager(paths),
            kubelet(paths), prometheus.component(paths), gateway(paths)]


# --- helpers --------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(paths: Paths, echo: Echo) -> Iterator[None]:
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.lock_file, "w") as f:
        deadline = time.monotonic() + LOCK_TIMEOUT
        told = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SandboxError(f"another sandbox up/down holds {paths.lock_file}") from None
                if not told:
                    echo("waiting for another sandbox up/down to finish ...")
                    told = True
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _check_prerequisites(echo: Echo) -> None:
    missing = [b for b in (cluster.ETCD_BIN, prometheus.PROMETHEUS_BIN) if not os.access(b, os.X_OK)]
    if not shutil.which("openssl"):
        missing.append("openssl")
    if missing:
        raise SandboxError(f"missing {', '.join(missing)}: run `make sandbox-deps` "
                           "(apt-get install etcd-server prometheus openssl)")
    bins = layout.kube_bin_dir()
    if not all(os.access(bins / b, os.X_OK) for b in ("kube-apiserver", "kube-controller-manager")):
        echo(f"kube binaries not in {bins}: building them (about 5-10 minutes) with {BUILD_SCRIPT}")
        res = subprocess.run(["bash", str(BUILD_SCRIPT)], timeout=1800)
        if res.returncode != 0:
            raise SandboxError(f"{BUILD_SCRIPT} failed (exit {res.returncode})")


def _wait(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise SandboxError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.25)


def _cluster_usable(paths: Paths) -> bool:
    """The controllers run: the default ServiceAccount has its token (pods can be admitted)."""
    code, sa = cluster.rest(paths, "GET", "/api/v1/namespaces/default/serviceaccounts/default")
    return code == 200 and bool(sa.get("secrets"))


def apply_crd_file(paths: Paths, path: Path, timeout: float = 30) -> list[str]:
    """Create or replace the CRDs in ``path`` and wait until they are Established."""
    import yaml

    base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    names = []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        name = doc["metadata"]["name"]
        code, body = cluster.rest(paths, "POST", base, doc)
        if code == 409:
            code, current = cluster.rest(paths, "GET", f"{base}/{name}")
            doc["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            code, body = cluster.rest(paths, "PUT", f"{base}/{name}", doc)
        if code >= 300:
            raise SandboxError(f"CRD {name}: HTTP {code}: {body.get('message', body)}")
        names.append(name)

    def established() -> bool:
        for n in names:
            _, crd = cluster.rest(paths, "GET", f"{base}/{n}")
            conds = crd.get("status", {}).get("conditions") or []
            if not any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                return False
        return True

    _wait(f"CRDs {names} to be Established", established, timeout)
    return names


# --- public operations ----------------------------------------------------------------

def up(paths: Paths | None = None, echo: Echo = print) -> UpResult:
    """Start whatever part of the sandbox is not running; idempotent; every wait bounded.

    Independent components start together: etcd with Prometheus, then the API server,
    then the controller manager, the kubelet stand-in and the gateway.
    """
    paths = paths or Paths.default()
    t0 = time.monotonic()
    result = UpResult(Sandbox.from_paths(paths))
    with _locked(paths, echo):
        _check_prerequisites(echo)
        t = time.monotonic()
        tokens = cluster.prepare(paths)
        prometheus_config_changed = prometheus.write_config(paths)
        result.timings["pki+config"] = time.monotonic() - t
        comps = {c.name: c for c in components(paths, tokens)}
        started_at: dict[str, float] = {}

        def start(name: str) -> None:
            started_at[name] = time.monotonic()
            if comps[name].start(paths.run, paths.logs):
                result.started.append(name)

        def wait(name: str) -> None:
            comp = comps[name]
            comp.wait_healthy(paths.run, paths.logs)
            took = time.monotonic() - started_at[name]
            fresh = name in result.started
            if fresh:
                result.timings[name] = took
            echo(f"  {name:<24}{'started' if fresh else 'running':<9}{comp.address}"
                 + (f"  ({took:.1f}s)" if fresh else ""))

        for name in ("etcd", "prometheus"):
            start(name)
        wait("etcd")
        wait("prometheus")
        if prometheus_config_changed and "prometheus" not in result.started:
            prometheus.reload()  # a sandbox started by an older checkout gets the new scrape jobs
            echo("  prometheus              configuration reloaded")
        start("kube-apiserver")
        wait("kube-apiserver")
        for name in ("kube-controller-manager", "kubelet"):
            start(name)
        for crd in (HTTPROUTE_CRD, ISTIO_CRD):
            _apply_crd(paths, crd, echo)
        gateway_ok = gateway_available()
        if gateway_ok:
            start("gateway")
        else:
            echo("  gateway                 not started: no sandbox/gateway module yet")
        for name in ("kube-controller-manager", "kubelet") + (("gateway",) if gateway_ok else ()):
            wait(name)
        t = time.monotonic()
        _wait("the default ServiceAccount's token (controllers running)", lambda: _cluster_usable(paths), 60)
        result.timings["controllers ready"] = time.monotonic() - t
    result.seconds = time.monotonic() - t0
    return result


def _apply_crd(paths: Paths, crd: Path, echo: Echo) -> None:
    """Apply a sandbox CRD file (crds/httproute.yaml, crds/istio.yaml) if present; a failure is reported, not fatal."""
    rel = crd.relative_to(REPO_ROOT)
    if not crd.exists():
        echo(f"  {rel} not found: not applied")
        return
    try:
        names = apply_crd_file(paths, crd)
        echo(f"  CRDs applied: {', '.join(names)}")
    except SandboxError as e:  # the file is another part's: report and carry on
        echo(f"  WARNING: {rel} not applied: {str(e)[:400]}")


def ensure_up(echo: Echo = lambda _: None) -> Sandbox:
    """The running sandbox, started first if needed."""
    return up(echo=echo).sandbox


def connect(paths: Paths | None = None) -> Sandbox:
    """The running sandbox; raises SandboxError if its API server is not up."""
    paths = paths or Paths.default()
    tokens = cluster.ensure_tokens(paths) if paths.token_file.exists() else None
    if not tokens or not cluster.apiserver(paths, tokens).healthy(paths.run):
        raise SandboxError(f"the sandbox in {paths.root} is not running: run `make sandbox-up`")
    return Sandbox.from_paths(paths)


def down(paths: Paths | None = None, echo: Echo = print, purge: bool = False) -> list[str]:
    """Stop every process the sandbox started (by pid file); with ``purge`` also delete its state."""
    paths = paths or Paths.default()
    stopped = []
    with _locked(paths, echo):
        tokens = {"admin": "", "operator": ""}
        for comp in reversed(components(paths, tokens)):
            if comp.stop(paths.run):
                stopped.append(comp.name)
                echo(f"  {comp.name:<24}stopped")
        # Backstop: container processes a killed kubelet could not stop.
        for pid_file in (paths.kubelet_dir / "pids").glob("*.pid"):
            rec = proc.read_pid(pid_file)
            if rec and rec.alive():
                proc.terminate(rec, 3)
                echo(f"  container process {rec.pid} ({pid_file.stem}) stopped")
            pid_file.unlink(missing_ok=True)
        if purge:
            for child in paths.root.iterdir():
                if child != paths.lock_file:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            echo(f"  state in {paths.root} deleted")
    return stopped


def status(paths: Paths | None = None) -> dict[str, str]:
    """Each component's state: ``healthy``, ``unhealthy`` (running, failing its check) or ``stopped``."""
    paths = paths or Paths.default()
    tokens = cluster.ensure_tokens(paths) if paths.token_file.exists() else {"admin": "", "operator": ""}
    out = {}
    for comp in components(paths, tokens):
        rec = proc.running(comp.pid_file(paths.run))
        if rec is None:
            out[comp.name] = "stopped"
        else:
            out[comp.name] = "healthy" if comp.healthy(paths.run) else "unhealthy"
    return out


def usage(sb: Sandbox) -> str:
    return (f"export KUBECONFIG={sb.admin_kubeconfig}\n"
            f"# the operator's identity: {sb.operator_kubeconfig}\n"
            f"# Prometheus: {sb.prometheus_url}   gateway: {sb.gateway_url}   pod logs: {sb.pod_logs_dir}")
