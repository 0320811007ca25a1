"""Which API versions the server serves, for the kinds whose version differs between clusters.

Kubernetes 1.20 serves HPAs as ``autoscaling/v2beta2`` and PDBs as ``policy/v1beta1``; later
releases add ``autoscaling/v2`` (1.23) and ``policy/v1`` (1.21) and drop the betas (1.25,
1.26). Gateway API installs ``v1`` HTTPRoutes from its v1.0 (``v1beta1`` before), Istio
``networking.istio.io/v1`` from 1.22 (``v1beta1``, ``v1alpha3`` before). Ripcord reads and
writes each kind in the newest version the server serves.

One ``GET /apis`` answers it (every authenticated client may read discovery; no RBAC rule).
The answer is cached and refreshed rarely (:data:`REFRESH_S`), from a worker thread: a Kopf
watch selector reads :meth:`Discovery.cached`, which never does I/O.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any, Callable, Mapping, Optional, Sequence

from kubernetes import client

from ripcord.contract import AUTOSCALING_GROUP, ISTIO_GROUP, POLICY_GROUP, ROUTE_GROUP

log = logging.getLogger("ripcord.discovery")

#: Versions Ripcord can use, newest (preferred) first.
PREFERENCES: Mapping[str, tuple[str, ...]] = {
    ROUTE_GROUP: ("v1", "v1beta1"),
    AUTOSCALING_GROUP: ("v2", "v2beta2"),
    POLICY_GROUP: ("v1", "v1beta1"),
    ISTIO_GROUP: ("v1", "v1beta1", "v1alpha3"),
}
REFRESH_S = 600.0  # a cluster upgrade or a CRD install is seen within this
RETRY_S = 30.0  # after a failed discovery


@dataclasses.dataclass(frozen=True)
class ApiVersions:
    """The version of each group Ripcord uses on this server; None: the server has none Ripcord can use."""

    route: Optional[str] = "v1"
    autoscaling: Optional[str] = "v2"
    policy: Optional[str] = "v1"
    istio: Optional[str] = "v1"

    def of(self, group: str) -> Optional[str]:
        return {ROUTE_GROUP: self.route, AUTOSCALING_GROUP: self.autoscaling, POLICY_GROUP: self.policy,
                ISTIO_GROUP: self.istio}.get(group)

    def api_version(self, group: str) -> str:
        """``group/version`` for a body; the newest Ripcord knows when the server serves none."""
        return f"{group}/{self.of(group) or PREFERENCES[group][0]}"


#: Until the server has answered: the current versions (what a cluster of today serves).
CURRENT = ApiVersions()


def choose(served: Mapping[str, Sequence[str]]) -> ApiVersions:
    """The newest version Ripcord knows of each group, among those ``served`` (group -> versions)."""
    def pick(group: str) -> Optional[str]:
        have = set(served.get(group) or ())
        return next((v for v in PREFERENCES[group] if v in have), None)
    return ApiVersions(route=pick(ROUTE_GROUP), autoscaling=pick(AUTOSCALING_GROUP), policy=pick(POLICY_GROUP),
                       istio=pick(ISTIO_GROUP))


def served_versions(api: client.ApiClient) -> dict[str, list[str]]:
    """group -> versions the server serves (one ``GET /apis``)."""
    groups = client.ApisApi(api).get_api_versions()
    return {g.name: [v.version for v in g.versions or []] for g in groups.groups or []}


class Discovery:
    """The server's versions, cached; :meth:`refresh_if_due` from a thread, :meth:`cached` anywhere."""

    def __init__(self, api: Any, *, refresh_s: float = REFRESH_S, clock: Callable[[], float] = time.monotonic,
                 fetch: Optional[Callable[[], Mapping[str, Sequence[str]]]] = None) -> None:
        self._fetch = fetch or (lambda: served_versions(api))
        self._refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._versions = CURRENT
        self._due = 0.0  # monotonic time of the next refresh
        self.known = False  # the server has answered at least once

    def cached(self) -> ApiVersions:
        return self._versions

    def refresh_if_due(self) -> ApiVersions:
        with self._lock:
            if self._clock() < self._due:
                return self._versions
        return self.refresh()

    def refresh(self) -> ApiVersions:
        try:
            versions = choose(self._fetch())
        except Exception as exc:  # noqa: BLE001 - keep what is known; ask again soon
            log.warning("API discovery failed (%s: %s); using %s", type(exc).__name__, str(exc)[:200],
                        self._versions)
            with self._lock:
                self._due = self._clock() + RETRY_S
            return self._versions
        with self._lock:
            if versions != self._versions or not self.known:
                log.info("API versions: HTTPRoute %s, HPA %s, PDB %s, Istio %s", versions.route,
                         versions.autoscaling, versions.policy, versions.istio)
            self._versions, self.known = versions, True
            self._due = self._clock() + self._refresh_s
        return versions
