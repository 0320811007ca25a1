"""The Gateway API side: accept HTTPRoutes attached to ``sandbox-gateway`` by writing status.

For every HTTPRoute whose parentRefs name the Gateway ``sandbox-gateway`` (group
gateway.networking.k8s.io, kind Gateway, any namespace), the controller keeps one
``status.parents[]`` entry per such parentRef, with ``controllerName``
``ripcord.dev/sandbox-gateway`` and the conditions ``Accepted`` and ``ResolvedRefs``.
Entries written by other controllers are left as they are.

A route whose backendRefs cannot all be resolved (Service missing, or missing the port
asked for: ``BackendNotFound``; not a core Service: ``InvalidKind``; another namespace,
as this gateway knows no ReferenceGrant: ``RefNotPermitted``) gets ``ResolvedRefs=False``
and, stricter than upstream (which keeps such a route Accepted), ``Accepted=False`` with
the same reason: the sandbox must let tests and the operator see a broken route plainly.

Status is written with a full-object PUT on the status subresource carrying the
resourceVersion read, so a concurrent writer makes it fail (409) rather than be lost;
the watch then brings the newer object and the route is looked at again.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from typing import Any, Callable

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from . import CONTROLLER_NAME, GATEWAY_GROUP
from .discovery import ROUTE_VERSION, ClusterState
from .model import Service, is_our_parent, parse_route

log = logging.getLogger("sandbox.gateway.routes")

Lookup = Callable[[str, str], Service | None]
RESYNC_S = 30.0


def now_rfc3339() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def resolve_refs(route_obj: dict[str, Any], lookup: Lookup) -> tuple[str, str]:
    """``("", "")`` when every backendRef resolves, else (reason, message) of the problems."""
    route = parse_route(route_obj)
    problems: list[tuple[str, str]] = []
    for rule in route.rules:
        for ref in (*rule.backend_refs, *rule.mirrors):
            if ref.kind != "Service" or ref.group not in ("", "core"):
                problems.append(("InvalidKind", f"backendRef {ref.name}: kind {ref.group or 'core'}/{ref.kind} is not supported"))
            elif ref.namespace != route.namespace:
                problems.append(("RefNotPermitted", f"backendRef {ref.namespace}/{ref.name}: cross-namespace references are not permitted"))
            else:
                svc = lookup(ref.namespace, ref.name)
                if svc is None:
                    problems.append(("BackendNotFound", f"Service {ref.namespace}/{ref.name} not found"))
                elif ref.port is not None and svc.port_for(ref.port) is None:
                    problems.append(("BackendNotFound", f"Service {ref.namespace}/{ref.name} has no port {ref.port}"))
    if not problems:
        return "", ""
    return problems[0][0], "; ".join(m for _, m in problems)[:1000]


def _condition(ctype: str, ok: bool, reason: str, message: str, generation: int,
               previous: list[dict[str, Any]], now: str) -> dict[str, Any]:
    status = "True" if ok else "False"
    prev = next((c for c in previous if c.get("type") == ctype), None)
    since = prev["lastTransitionTime"] if prev and prev.get("status") == status and prev.get("lastTransitionTime") else now
    return {"type": ctype, "status": status, "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": since}


def our_entries(route_obj: dict[str, Any], lookup: Lookup, now: str) -> list[dict[str, Any]]:
    """The status.parents entries this controller owes the route (may be empty)."""
    refs = [r for r in (route_obj.get("spec") or {}).get("parentRefs") or [] if is_our_parent(r)]
    if not refs:
        return []
    generation = int(route_obj["metadata"].get("generation", 0))
    reason, message = resolve_refs(route_obj, lookup)
    ok = not reason
    existing = [p for p in (route_obj.get("status") or {}).get("parents") or []
                if p.get("controllerName") == CONTROLLER_NAME]
    out = []
    for ref in refs:
        prev = next((p for p in existing if p.get("parentRef") == ref), {})
        conds = prev.get("conditions") or []
        out.append({
            "parentRef": dict(ref),
            "controllerName": CONTROLLER_NAME,
            "conditions": [
                _condition("Accepted", ok, "Accepted" if ok else reason,
                           "accepted by the sandbox gateway" if ok else message, generation, conds, now),
                _condition("ResolvedRefs", ok, "ResolvedRefs" if ok else reason,
                           "all backendRefs resolved" if ok else message, generation, conds, now),
            ],
        })
    return out


def _comparable(entries: list[dict[str, Any]]) -> list[Any]:
    return [
        (repr(sorted(e.get("parentRef", {}).items())),
         sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message"), c.get("observedGeneration"))
                for c in e.get("conditions") or []))
        for e in entries
    ]


def desired_status(route_obj: dict[str, Any], lookup: Lookup, now: str) -> dict[str, Any] | None:
    """The route's new status, or ``None`` when this controller has nothing to change."""
    status = route_obj.get("status") or {}
    parents = list(status.get("parents") or [])
    ours_now = [p for p in parents if p.get("controllerName") == CONTROLLER_NAME]
    ours = our_entries(route_obj, lookup, now)
    if _comparable(ours_now) == _comparable(ours):
        return None
    others = [p for p in parents if p.get("controllerName") != CONTROLLER_NAME]
    return {**status, "parents": others + ours}


class RouteStatusController(threading.Thread):
    """Re-examines every route when Services or HTTPRoutes change, and every 30 s."""

    def __init__(self, api: k8s.ApiClient, state: ClusterState, stop: threading.Event) -> None:
        super().__init__(name="route-status", daemon=True)
        self.custom = k8s.CustomObjectsApi(api)
        self.state, self.stop = state, stop

    def run(self) -> None:
        while not self.stop.is_set():
            self.state.routes_changed.wait(RESYNC_S)
            self.stop.wait(0.1)  # let a burst of events settle into one pass
            self.state.routes_changed.clear()
            if not (self.state.synced["services"] and self.state.synced["httproutes"]):
                continue
            for obj in self.state.route_objects():
                try:
                    self.reconcile(obj)
                except Exception as e:  # noqa: BLE001 - one bad route must not stop the others
                    log.warning("route %s/%s: %s", obj["metadata"].get("namespace"), obj["metadata"]["name"], e)

    def reconcile(self, obj: dict[str, Any]) -> bool:
        status = desired_status(obj, self.state.has_service, now_rfc3339())
        if status is None:
            return False
        body = copy.deepcopy(obj)
        body.update(apiVersion=f"{GATEWAY_GROUP}/{ROUTE_VERSION}", kind="HTTPRoute", status=status)
        body["metadata"].pop("managedFields", None)  # omitted: the server keeps its own
        meta = obj["metadata"]
        try:
            self.custom.replace_namespaced_custom_object_status(
                GATEWAY_GROUP, ROUTE_VERSION, meta["namespace"], "httproutes", meta["name"], body,
                _request_timeout=(5, 15),
            )
        except ApiException as e:
            if e.status in (404, 409):  # gone, or changed meanwhile: the watch brings the news
                return False
            raise
        log.info("route %s/%s: status.parents written", meta["namespace"], meta["name"])
        return True
