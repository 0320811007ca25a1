"""Sandbox plumbing shared by the chaos and outage parts: a namespace, Releases under load, the operator.

Everything goes through the real sandbox: the API server as the admin for Releases, the
operator as ``ripcord run`` under the shipped RBAC (``sandbox.releases.OperatorProcess``),
load through the sandbox gateway, the sandbox's Prometheus.
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

import sandbox
from sandbox.gateway.client import GatewayClient
from sandbox.releases import OperatorProcess, Releases, clear_release_finalizers, install_ripcord, release_manifest

from .tally import Planned

EVENTS = ["pre-rollout", "rollback", "promotion", "post-rollout", "stall"]
BAD_ENV = {"errors": {"ERROR_RATE": "0.5"}, "crash": {"CRASH_AFTER_S": "4"}}
RPS = 8.0


def analysis(interval_s: int = 2, step_s: int = 6, watch_s: int = 4, unavailable_limit_s: int = 120) -> dict[str, Any]:
    """Short intervals: an error-rate bound on the app's own metrics, strict pod health."""
    return {"interval": f"{interval_s}s", "stepDuration": f"{step_s}s", "postPromotionWatch": f"{watch_s}s",
            "metricsUnavailableLimit": f"{unavailable_limit_s}s", "maxDuration": "30m", "minRequests": 5,
            "metrics": [{"name": "errors", "type": "error-rate", "source": "app", "judge": "threshold", "max": 0.1}],
            "podHealth": {"maxRestarts": 0, "readyDeadline": "45s"}}


def manifest(name: str, version: str, env: dict[str, str], hook_url: str, an: dict[str, Any]) -> dict[str, Any]:
    return release_manifest(name, version, env=env, analysis=an, steps=[20, 50], replicas=2,
                            notifications=[{"name": "bench", "url": hook_url, "type": "generic", "events": EVENTS}])


def env_of(p: Planned) -> dict[str, str]:
    return dict(BAD_ENV.get(p.kind, {}))


class Bench:
    """One namespace of Releases, their loads, and a restartable operator."""

    def __init__(self, sb: sandbox.Sandbox, namespace: str, workdir: Path, hooks_url: str) -> None:
        self.sb, self.ns, self.workdir = sb, namespace, workdir
        self.admin = sb.api_client()
        self.core = client.CoreV1Api(self.admin)
        self.releases = Releases(self.admin, namespace)
        self.gateway = GatewayClient(sb.gateway_url)
        self.hooks_url = hooks_url.rstrip("/")
        self.config = workdir / "ripcord.yaml"
        self.config.write_text(yaml.safe_dump({
            "namespace": "ripcord-system",
            "prometheus": {"default": {"url": sb.prometheus_url, "timeoutSeconds": 1.5, "scrapeIntervalSeconds": 1}},
            "webhooks": {"allowedUrls": [self.hooks_url + "/hooks/"]},
            "analysis": {"deadlineSeconds": 3},
        }))
        self.operator: Optional[OperatorProcess] = None
        self.starts = 0
        self.loads: list[str] = []

    # ------------------------------------------------------------------ namespace

    def create_namespace(self) -> None:
        install_ripcord(self.sb.admin_kubeconfig)
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=self.ns, labels={"ripcord.dev/test": "true"})))
        deadline = time.monotonic() + 60
        while not self._has_token():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no token for the default ServiceAccount of {self.ns}")
            time.sleep(0.25)

    def _has_token(self) -> bool:
        """The controllers made the namespace usable (its default ServiceAccount has a token)."""
        try:
            return bool(self.core.read_namespaced_service_account("default", self.ns).secrets)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise

    def delete_namespace(self) -> None:
        with contextlib.suppress(ApiException):
            clear_release_finalizers(self.admin, self.ns)
            self.core.delete_namespace(self.ns)

    # ------------------------------------------------------------------ operator

    def start_operator(self) -> OperatorProcess:
        self.starts += 1
        self.operator = OperatorProcess(str(self.sb.operator_kubeconfig), self.ns, self.workdir / "operator.log",
                                        self.config).start()
        return self.operator

    def kill_operator(self) -> None:
        """SIGKILL, as the kernel's OOM killer or a node failure would."""
        if self.operator is not None:
            self.operator.kill()

    def stop_operator(self) -> None:
        if self.operator is not None:
            self.operator.stop()
            self.operator = None

    def operator_exited(self) -> bool:
        return self.operator is not None and self.operator.exited() is not None

    # ------------------------------------------------------------------ Releases

    def hook_url(self, release: str) -> str:
        return f"{self.hooks_url}/hooks/{release}"

    def apply(self, name: str, version: str, env: dict[str, str], an: dict[str, Any]) -> None:
        self.releases.apply(manifest(name, version, env, self.hook_url(name), an))

    def start_load(self, name: str, rps: float = RPS) -> None:
        load = f"{self.ns}-{name}"
        self.gateway.put_load(load, self.ns, service=name, rps=rps, timeout_s=2.0, paths=["/api/status", "/health"])
        self.loads.append(load)

    def stop_loads(self) -> None:
        for load in self.loads:
            with contextlib.suppress(Exception):
                self.gateway.delete_load(load)
        self.loads.clear()

    def status(self, name: str) -> dict[str, Any]:
        return self.releases.status(name)

    def uid(self, name: str) -> str:
        return str(self.releases.get(name)["metadata"]["uid"])

    def wait_stable(self, names: list[str], timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        pending = set(names)
        while pending:
            for n in list(pending):
                with contextlib.suppress(ApiException):
                    if self.status(n).get("phase") == "Stable":
                        pending.discard(n)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not Stable after {timeout_s:.0f}s: {sorted(pending)}")
            time.sleep(0.5)


def final_entry(b: Bench, name: str, version: str) -> Optional[dict[str, Any]]:
    """The history entry of ``version`` once it has a final outcome (API errors: None, try again)."""
    from .tally import FINAL, entry_for
    try:
        entry = entry_for(b.status(name).get("history") or [], version)
    except ApiException:
        return None
    return dict(entry) if entry is not None and entry.get("outcome") in FINAL else None


@contextlib.contextmanager
def bench_namespace(sb: sandbox.Sandbox, namespace: str, workdir: Path, hooks_url: str) -> Iterator[Bench]:
    """A fresh namespace with an operator; everything stopped and deleted afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    b = Bench(sb, namespace, workdir, hooks_url)
    try:
        b.create_namespace()
        yield b
    finally:
        b.stop_loads()
        b.stop_operator()
        b.delete_namespace()
