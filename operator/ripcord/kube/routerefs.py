"""Which Releases name which user HTTPRoute (``spec.traffic.routeRef``), kept from the Release watch.

A user's route carries no Ripcord label, so its watch events cannot say which Release they
concern; this index can. It is fed with every Release event (``ripcord.operator``) and
answers, for a route event, the Releases to wake. Thread-safe: written from the event loop,
read from anywhere.
"""
from __future__ import annotations

import threading
from typing import Any, Mapping, Optional

Key = tuple[str, str]  # (namespace, name)


def route_of(release: Mapping[str, Any]) -> Optional[str]:
    """The HTTPRoute a Release body names in spec.traffic.routeRef, if any (unvalidated)."""
    ref = ((release.get("spec") or {}).get("traffic") or {}).get("routeRef")
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return name if isinstance(name, str) and name else None


class RouteReferences:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._route_of: dict[Key, str] = {}  # release -> route it names
        self._releases_of: dict[Key, set[str]] = {}  # route -> releases naming it

    def update(self, release: Mapping[str, Any], deleted: bool = False) -> None:
        meta = release.get("metadata") or {}
        ns, name = meta.get("namespace", ""), meta.get("name", "")
        route = None if deleted else route_of(release)
        with self._lock:
            old = self._route_of.pop((ns, name), None)
            if old is not None:
                names = self._releases_of.get((ns, old), set())
                names.discard(name)
                if not names:
                    self._releases_of.pop((ns, old), None)
            if route is not None:
                self._route_of[(ns, name)] = route
                self._releases_of.setdefault((ns, route), set()).add(name)

    def releases_of(self, namespace: str, route: str) -> list[str]:
        with self._lock:
            return sorted(self._releases_of.get((namespace, route), ()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._route_of)
