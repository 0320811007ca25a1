"""Watches Services, Pods, HTTPRoutes and Istio's VirtualServices and DestinationRules, and keeps
an immutable snapshot of them.

EndpointSlices cannot be used: the sandbox's pods live on loopback addresses, which
Kubernetes refuses as endpoints. So, like kube-proxy would from endpoints, the gateway
matches Service selectors against ready pods itself (:mod:`.routing`).

Each kind has a thread doing list-then-watch with a bounded server timeout and a client
read timeout; a watch that ends resumes from its last resourceVersion, a 410 (Gone) or any
error re-lists after a capped back-off. Raw JSON is parsed into small records
(:mod:`.model`), which costs far less than the kubernetes client's models.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from typing import Any, Callable

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from . import GATEWAY_GROUP
from .model import (DestinationRule, Pod, Route, Service, VirtualService, parse_destination_rule, parse_pod,
                    parse_route, parse_service, parse_virtual_service)
from .routing import Key, Snapshot

log = logging.getLogger("sandbox.gateway.discovery")

WATCH_TIMEOUT_S = 30  # server-side end of each watch; the client waits 15 s longer at most
ROUTE_VERSION = "v1"
ISTIO_GROUP = "networking.istio.io"
ISTIO_VERSION = "v1"
MESH_KINDS = ("virtualservices", "destinationrules")


class ClusterState:
    """Thread-safe store fed by the watchers; readers take cheap immutable snapshots."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._services: dict[Key, Service] = {}
        self._pods: dict[Key, Pod] = {}
        self._routes: dict[Key, Route] = {}
        self._route_objs: dict[Key, dict[str, Any]] = {}
        self._virtual_services: dict[Key, VirtualService] = {}
        self._destination_rules: dict[Key, DestinationRule] = {}
        self._gen = 0
        self._snap = Snapshot(0, {}, {}, {})
        self.synced = {"services": False, "pods": False, "httproutes": False, "virtualservices": False,
                       "destinationrules": False}
        # Set whenever Services or HTTPRoutes change: wakes the route status controller.
        self.routes_changed = threading.Event()

    def _store(self, kind: str) -> dict:
        return {"services": self._services, "pods": self._pods, "httproutes": self._routes,
                "virtualservices": self._virtual_services, "destinationrules": self._destination_rules}[kind]

    def _parse(self, kind: str, obj: dict[str, Any]) -> tuple[dict, Any]:
        parse = {"services": parse_service, "pods": parse_pod, "httproutes": parse_route,
                 "virtualservices": parse_virtual_service, "destinationrules": parse_destination_rule}[kind]
        return self._store(kind), parse(obj)

    def reset(self, kind: str, items: list[dict[str, Any]]) -> None:
        """Replace everything known of ``kind`` by a fresh list."""
        with self._lock:
            store = self._store(kind)
            store.clear()
            if kind == "httproutes":
                self._route_objs.clear()
            for obj in items:
                self._put(kind, obj)
            self.synced[kind] = True
            self._gen += 1
        if kind in ("services", "httproutes"):
            self.routes_changed.set()

    def apply(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        """Apply one watch event (ADDED, MODIFIED, DELETED)."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        with self._lock:
            if event_type == "DELETED":
                store = self._store(kind)
                store.pop(key, None)
                self._route_objs.pop(key, None)
            else:
                self._put(kind, obj)
            self._gen += 1
        if kind in ("services", "httproutes"):
            self.routes_changed.set()

    def _put(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        store, rec = self._parse(kind, obj)
        store[key] = rec
        if kind == "httproutes":
            self._route_objs[key] = obj

    def snapshot(self) -> Snapshot:
        snap = self._snap
        if snap.generation == self._gen:
            return snap
        with self._lock:
            by_ns: dict[str, list[Pod]] = {}
            for pod in self._pods.values():
                by_ns.setdefault(pod.namespace, []).append(pod)
            self._snap = Snapshot(
                self._gen, dict(self._services), {ns: tuple(p) for ns, p in by_ns.items()}, dict(self._routes),
                dict(self._virtual_services), dict(self._destination_rules),
            )
            return self._snap

    def route_objects(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._route_objs.values())

    def has_service(self, namespace: str, name: str) -> Service | None:
        with self._lock:
            return self._services.get((namespace, name))


def _describe(e: Exception) -> str:
    if isinstance(e, ApiException):  # its str() carries every response header
        return f"API error {e.status} {e.reason}"
    return f"{type(e).__name__}: {e}"[:300]


class _Gone(Exception):
    """The watch's resourceVersion is too old: re-list."""


class Watcher(threading.Thread):
    """List-then-watch one kind into a :class:`ClusterState`, until ``stop`` is set."""

    def __init__(self, kind: str, list_fn: Callable[..., Any], state: ClusterState,
                 stop: threading.Event) -> None:
        super().__init__(name=f"watch-{kind}", daemon=True)
        self.kind, self.list_fn, self.state, self.stop = kind, list_fn, state, stop
        self._last_error = ""

    def run(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                rv = self._list()
                backoff = 0.5
                if self._last_error:
                    log.info("%s: watching again", self.kind)
                    self._last_error = ""
                while not self.stop.is_set():
                    rv = self._watch(rv)
            except _Gone:
                continue
            except Exception as e:  # noqa: BLE001 - any failure: back off and re-list
                msg = _describe(e)
                if msg != self._last_error:
                    log.warning("%s: %s (retrying)", self.kind, msg)
                    self._last_error = msg
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _list(self) -> str:
        resp = self.list_fn(_preload_content=False, _request_timeout=(5, 30))
        try:
            data = json.loads(resp.data)
        finally:
            resp.release_conn()
        self.state.reset(self.kind, data.get("items") or [])
        return data["metadata"]["resourceVersion"]

    def _watch(self, rv: str) -> str:
        resp = self.list_fn(
            watch=True, resource_version=rv, timeout_seconds=WATCH_TIMEOUT_S, allow_watch_bookmarks=True,
            _preload_content=False, _request_timeout=(5, WATCH_TIMEOUT_S + 15),
        )
        try:
            for line in iter_resp_lines(resp):
                if not line:
                    continue
                ev = json.loads(line)
                etype, obj = ev["type"], ev["object"]
                if etype == "ERROR":
                    if obj.get("code") == 410:
                        raise _Gone()
                    raise RuntimeError(f"watch error {obj.get('code')}: {obj.get('message')}")
                rv = obj["metadata"]["resourceVersion"]
                if etype != "BOOKMARK":
                    self.state.apply(self.kind, etype, obj)
                if self.stop.is_set():
                    break
        finally:
            resp.close()
            resp.release_conn()
        return rv


def start_watchers(api: k8s.ApiClient, state: ClusterState, stop: threading.Event) -> list[Watcher]:
    core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
    watchers = [
        Watcher("services", core.list_service_for_all_namespaces, state, stop),
        Watcher("pods", core.list_pod_for_all_namespaces, state, stop),
        Watcher("httproutes", functools.partial(
            custom.list_cluster_custom_object, GATEWAY_GROUP, ROUTE_VERSION, "httproutes"), state, stop),
        *(Watcher(kind, functools.partial(custom.list_cluster_custom_object, ISTIO_GROUP, ISTIO_VERSION, kind),
                  state, stop) for kind in MESH_KINDS),
    ]
    for w in watchers:
        w.start()
    return watchers
