"""Raw API objects, as the API server sends them, for the gateway's unit tests."""

from __future__ import annotations

from typing import Any


def service(name: str, selector: dict[str, str], ns: str = "demo", port: int = 80,
            target: int | str = "http") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": target}]}}


def pod(name: str, ip: str, labels: dict[str, str], ns: str = "demo", ready: bool = True,
        rs: str | None = None, port: int = 8080, terminating: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": dict(labels)}
    if rs:
        meta["labels"]["pod-template-hash"] = rs.rsplit("-", 1)[1]
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": rs, "controller": True}]
    if terminating:
        meta["deletionTimestamp"] = "2026-01-29T14:30:00Z"
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": "app", "ports": [{"name": "http", "containerPort": port}]}]},
        "status": {"phase": "Running", "podIP": ip,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def route(name: str, backends: list[tuple[str, int]], ns: str = "demo", generation: int = 1,
          parent: str = "sandbox-gateway", port: int | None = 80, status: dict | None = None,
          matches: list[dict] | None = None) -> dict[str, Any]:
    refs = []
    for svc, w in backends:
        ref: dict[str, Any] = {"group": "", "kind": "Service", "name": svc, "weight": w}
        if port is not None:
            ref["port"] = port
        refs.append(ref)
    rule: dict[str, Any] = {"backendRefs": refs}
    if matches is not None:
        rule["matches"] = matches
    obj: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ns, "generation": generation, "resourceVersion": "7"},
        "spec": {"parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": parent}],
                 "rules": [rule]},
    }
    if status is not None:
        obj["status"] = status
    return obj
