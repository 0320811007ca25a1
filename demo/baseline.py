"""The same incident without Ripcord: what the post-mortem describes.

A plain Deployment (the Release's pod template: its readiness probe calls ``/ready``, not
``/health``, so 2.0.0 becomes Ready and goes live, as in the seed) behind its own Service,
with its own gateway load. 2.0.0 goes out as a rolling update. A health checker polls
``GET /health`` through the gateway (a second, small load whose record says when it first
failed); once it has failed for the post-mortem's detection delay (45 s), the demo runs
``kubectl rollout undo``, as the on-call engineer did.
"""
from __future__ import annotations

import copy
import dataclasses
import time
from typing import Any, Optional

from kubernetes import client

from sandbox.gateway.client import GatewayClient
from sandbox.releases import demo_template, kubectl

HEALTH_RPS = 2.0  # the health checker: GET /health twice a second


def template(version: str) -> dict[str, Any]:
    """The Release's pod template, labelled for the baseline's own selector."""
    tpl = copy.deepcopy(demo_template(version))
    tpl["metadata"]["labels"] = {"app": "baseline"}
    return tpl


def deployment(name: str, version: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": "baseline"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "baseline"}},
                 "strategy": {"type": "RollingUpdate"},  # the defaults: maxSurge 25%, maxUnavailable 25%
                 "template": template(version)},
    }


def service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": "baseline"},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


@dataclasses.dataclass
class Baseline:
    """The plain Deployment's run: what was done and when (unix seconds)."""

    apps: client.AppsV1Api
    core: client.CoreV1Api
    gateway: GatewayClient
    admin_kubeconfig: str
    namespace: str
    replicas: int
    delay_s: float
    name: str = "baseline"
    health_load: str = ""
    released_at: Optional[float] = None
    health_failed_at: Optional[float] = None
    undo_at: Optional[float] = None

    def create(self, version: str) -> None:
        self.apps.create_namespaced_deployment(self.namespace, deployment(self.name, version, self.replicas))
        self.core.create_namespaced_service(self.namespace, service(self.name))

    def rolled_out(self, version: str) -> bool:
        """Every pod updated to ``version``'s template and available."""
        d = self.apps.read_namespaced_deployment(self.name, self.namespace)
        image = d.spec.template.spec.containers[0].image
        s = d.status
        return (image.endswith(f":{version}") and (s.observed_generation or 0) >= d.metadata.generation
                and s.updated_replicas == self.replicas and s.available_replicas == self.replicas
                and (s.replicas or 0) == self.replicas)

    def describe(self) -> str:
        d = self.apps.read_namespaced_deployment(self.name, self.namespace)
        s = d.status
        return (f"{d.spec.template.spec.containers[0].image.rsplit(':', 1)[-1]}: "
                f"{s.updated_replicas or 0} updated, {s.available_replicas or 0}/{self.replicas} available")

    def release(self, version: str) -> float:
        """A rolling update to ``version`` (the template's image, as `kubectl set image` would)."""
        self.apps.patch_namespaced_deployment(self.name, self.namespace, {"spec": {"template": template(version)}})
        self.released_at = time.time()
        return self.released_at

    def undo(self) -> float:
        """``kubectl rollout undo``, as the admin (a human on call, not the operator)."""
        at = time.time()
        kubectl(self.admin_kubeconfig, "rollout", "undo", f"deployment/{self.name}", "-n", self.namespace)
        self.undo_at = at
        return at


class UndoAfterHealthFails:
    """Watch: wait for the health checker's first failure, then ``delay_s`` more, then undo.

    The failure time is the start of the first record second with a failed ``/health``
    (1 s resolution), so the undo comes ``delay_s`` after the health check started failing.
    """

    def __init__(self, baseline: Baseline) -> None:
        self.b = baseline

    def poll(self) -> bool:
        b = self.b
        if b.undo_at is not None:
            return True
        if b.health_failed_at is None:
            since = int(b.released_at or 0)
            rows = b.gateway.record(b.health_load, since=since)
            failed = [r["t"] for r in rows if r["failed"] > 0]
            if not failed:
                return False
            b.health_failed_at = float(failed[0])
        if time.time() >= b.health_failed_at + b.delay_s:
            b.undo()
            return True
        return False

    def describe(self) -> str:
        b = self.b
        if b.health_failed_at is None:
            return "rolling out 2.0.0, health check passing so far"
        failing = time.time() - b.health_failed_at
        return f"health check failing for {failing:.0f} s of {b.delay_s:.0f} s before `kubectl rollout undo`"
