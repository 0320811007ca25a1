"""Watch-fed caches of the Releases and of the objects they own.

Kopf's watches (``ripcord.operator``) feed every event in through :meth:`Stores.apply`; the
reconciler reads from here and never GETs an object it owns. Each kind keeps only the
fields Ripcord reads (a trimmed copy), keyed by namespace and name and grouped by the
``ripcord.dev/release`` label, so a Release's objects are one dict lookup away.

Written from the event loop, read from reconcile threads: one lock per store, and readers
get the stored dicts, which are replaced on update and never mutated in place.

A watch that lost its place (HTTP 410) relists, and an object deleted in the gap gets no
DELETED event; :meth:`Store.replace_all` (the edge's periodic relist) sweeps such ghosts.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Mapping, Optional

from ripcord.contract import RELEASE_LABEL
from ripcord.kube.routerefs import RouteReferences

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
Trim = Callable[[Mapping[str, Any]], Obj]

_META_KEYS = ("name", "namespace", "uid", "resourceVersion", "generation", "labels", "annotations",
              "ownerReferences", "creationTimestamp", "deletionTimestamp", "finalizers")


def _meta(obj: Mapping[str, Any]) -> Obj:
    meta = obj.get("metadata") or {}
    return {k: meta[k] for k in _META_KEYS if k in meta}


def trim_release(obj: Mapping[str, Any]) -> Obj:
    out = {k: v for k, v in obj.items() if k != "metadata"}
    out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return out


def trim_deployment(obj: Mapping[str, Any]) -> Obj:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {"kind": "Deployment", "metadata": _meta(obj), "spec": {"replicas": spec.get("replicas")},
            "status": {k: status[k] for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                                              "availableReplicas") if k in status}}


def trim_service(obj: Mapping[str, Any]) -> Obj:
    spec = obj.get("spec") or {}
    return {"kind": "Service", "metadata": _meta(obj),
            "spec": {"selector": spec.get("selector") or {}, "ports": spec.get("ports") or []}}


def trim_route(obj: Mapping[str, Any]) -> Obj:
    return {"kind": "HTTPRoute", "metadata": _meta(obj), "spec": obj.get("spec") or {},
            "status": obj.get("status") or {}}


def trim_spec(kind: str) -> Trim:
    """Keep metadata and the whole spec: HPAs, PodDisruptionBudgets, VirtualServices, DestinationRules."""
    def trim(obj: Mapping[str, Any]) -> Obj:
        return {"kind": kind, "metadata": _meta(obj), "spec": obj.get("spec") or {}}
    return trim


def _container_status(cs: Mapping[str, Any]) -> Obj:
    return {k: cs[k] for k in ("name", "ready", "restartCount", "state", "lastState") if k in cs}


def trim_pod(obj: Mapping[str, Any]) -> Obj:
    status = obj.get("status") or {}
    return {"kind": "Pod", "metadata": _meta(obj),
            "status": {"phase": status.get("phase"), "conditions": status.get("conditions") or [],
                       "containerStatuses": [_container_status(c) for c in status.get("containerStatuses") or []],
                       "initContainerStatuses": [_container_status(c)
                                                 for c in status.get("initContainerStatuses") or []]}}


class Store:
    """Objects of one kind, by (namespace, name), grouped by the release label."""

    def __init__(self, trim: Trim) -> None:
        self._trim = trim
        self._lock = threading.Lock()
        self._objs: dict[Key, Obj] = {}
        self._by_release: dict[Key, set[str]] = {}

    @staticmethod
    def _release_key(obj: Mapping[str, Any]) -> Optional[Key]:
        meta = obj.get("metadata") or {}
        release = (meta.get("labels") or {}).get(RELEASE_LABEL)
        return (meta.get("namespace", ""), release) if release else None

    def apply(self, event_type: Optional[str], obj: Mapping[str, Any]) -> list[Key]:
        """Take one watch event; the release keys (namespace, release) it concerns, before and after."""
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace", ""), meta.get("name", ""))
        with self._lock:
            old = self._objs.pop(key, None)
            touched = self._unlink(key, old)
            if event_type != "DELETED":
                new = self._trim(obj)
                self._objs[key] = new
                if (rk := self._release_key(new)) is not None:
                    self._by_release.setdefault(rk, set()).add(key[1])
                    touched.append(rk)
        return list(dict.fromkeys(touched))

    def _unlink(self, key: Key, old: Optional[Obj]) -> list[Key]:
        if old is None or (rk := self._release_key(old)) is None:
            return []
        names = self._by_release.get(rk)
        if names is not None:
            names.discard(key[1])
            if not names:
                del self._by_release[rk]
        return [rk]

    def replace_all(self, objs: Iterable[Mapping[str, Any]], namespaces: Optional[set[str]] = None) -> list[Key]:
        """A full listing: keep exactly these (within ``namespaces``, if given); the release keys that changed."""
        fresh = {((o.get("metadata") or {}).get("namespace", ""), (o.get("metadata") or {}).get("name", "")): o
                 for o in objs}
        touched: list[Key] = []
        with self._lock:
            gone = [k for k in self._objs if k not in fresh and (namespaces is None or k[0] in namespaces)]
            for k in gone:
                touched += self._unlink(k, self._objs.pop(k))
        for obj in fresh.values():
            touched += self.apply("MODIFIED", obj)
        return list(dict.fromkeys(touched))

    def get(self, namespace: str, name: str) -> Optional[Obj]:
        with self._lock:
            return self._objs.get((namespace, name))

    def of_release(self, namespace: str, release: str) -> list[Obj]:
        with self._lock:
            names = sorted(self._by_release.get((namespace, release), ()))
            return [self._objs[(namespace, n)] for n in names]

    def keys(self) -> list[Key]:
        with self._lock:
            return list(self._objs)

    def __len__(self) -> int:
        with self._lock:
            return len(self._objs)


class Stores:
    """One store per kind the operator watches.

    ``user_routes`` holds the HTTPRoutes without Ripcord's label (users' own, which a Release
    may name in ``traffic.routeRef``); :class:`ripcord.kube.routerefs.RouteReferences` says
    which Releases name which.
    """

    def __init__(self) -> None:
        self.releases = Store(trim_release)
        self.deployments = Store(trim_deployment)
        self.services = Store(trim_service)
        self.routes = Store(trim_route)
        self.pods = Store(trim_pod)
        self.autoscalers = Store(trim_spec("HorizontalPodAutoscaler"))
        self.budgets = Store(trim_spec("PodDisruptionBudget"))
        self.virtual_services = Store(trim_spec("VirtualService"))
        self.destination_rules = Store(trim_spec("DestinationRule"))
        self.user_routes = Store(trim_route)
        self.route_refs = RouteReferences()

    def by_kind(self, kind: str) -> Store:
        return {"Release": self.releases, "Deployment": self.deployments, "Service": self.services,
                "HTTPRoute": self.routes, "Pod": self.pods, "HorizontalPodAutoscaler": self.autoscalers,
                "PodDisruptionBudget": self.budgets, "VirtualService": self.virtual_services,
                "DestinationRule": self.destination_rules}[kind]
