"""The edge wired to a fake API server: observer, actuator, reconciler and the stores the watches feed."""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from typing import Any, Callable, Optional

from ripcord.actuate.kube import Actuator, Faults, always_leading
from ripcord.contract import RELEASE_LABEL
from ripcord.kube.discovery import CURRENT, ApiVersions
from ripcord.kube.dryrun import TemplateChecker
from ripcord.kube.stores import Stores
from ripcord.observe import Observer, PlainHasher
from ripcord.reconcile import Reconciler
from tests.unit.kube.fakeapi import FakeApi

NS = "shop"
RELEASES = f"/apis/ripcord.dev/v1alpha1/namespaces/{NS}/releases"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NS}/deployments"
SERVICES = f"/api/v1/namespaces/{NS}/services"
ROUTES = f"/apis/gateway.networking.k8s.io/v1/namespaces/{NS}/httproutes"
EVENTS = f"/api/v1/namespaces/{NS}/events"
KINDS = {DEPLOYMENTS: "Deployment", SERVICES: "Service", ROUTES: "HTTPRoute"}
#: Kinds whose version is the server's: known by their resource, in whatever version they were written.
BY_PLURAL = {"horizontalpodautoscalers": "HorizontalPodAutoscaler", "poddisruptionbudgets": "PodDisruptionBudget",
             "virtualservices": "VirtualService", "destinationrules": "DestinationRule"}
T0 = dt.datetime(2026, 1, 29, 14, 30, tzinfo=dt.timezone.utc)


def template(version: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": f"ripcord/demo-app:{version}"}]}}


def release(version: str = "1.0.0", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "ripcord.dev/v1alpha1", "kind": "Release", "metadata": {"name": "web", "namespace": NS},
            "spec": {"version": version, "replicas": 2, "template": template(version), "steps": [20, 50],
                     "analysis": {"metrics": [], "podHealthOnly": True, "interval": "2s", "stepDuration": "4s"},
                     **spec}}


@dataclasses.dataclass
class Edge:
    api: FakeApi
    stores: Stores
    observer: Observer
    actuator: Actuator
    reconciler: Reconciler
    now: dt.datetime = T0
    woken: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def sync(self) -> None:
        """What the watches would have delivered by now: the stores hold what the server holds."""
        for store in (self.stores.autoscalers, self.stores.budgets, self.stores.virtual_services,
                      self.stores.destination_rules):
            store.replace_all([])  # (only what is still there comes back)
        for path, obj in self.api.objects.items():
            collection = path.rsplit("/", 1)[0]
            if collection == RELEASES:
                self.stores.releases.apply("MODIFIED", copy.deepcopy(obj))
                self.stores.route_refs.update(obj)
            elif collection in KINDS and RELEASE_LABEL in (obj["metadata"].get("labels") or {}):
                self.stores.by_kind(KINDS[collection]).apply("MODIFIED", copy.deepcopy(obj))
            elif collection.rsplit("/", 1)[1] in BY_PLURAL and RELEASE_LABEL in (obj["metadata"].get("labels") or {}):
                self.stores.by_kind(BY_PLURAL[collection.rsplit("/", 1)[1]]).apply("MODIFIED", copy.deepcopy(obj))
            elif collection == ROUTES:  # a user's own route
                self.stores.user_routes.apply("MODIFIED", copy.deepcopy(obj))

    def reconcile(self) -> Optional[dt.datetime]:
        self.api.calls.clear()
        return self.reconciler.reconcile(NS, "web")

    def restarted(self) -> "Edge":
        """A new operator process on the same cluster: empty memory, stores refilled by the watches."""
        fresh = build(self.api, fence=self.actuator.fence, clock=lambda: self.now)
        fresh.now = self.now
        fresh.sync()
        return fresh


def build(api: Optional[FakeApi] = None, *, fence: Callable[[], None] = always_leading,
          clock: Optional[Callable[[], dt.datetime]] = None, versions: ApiVersions = CURRENT) -> Edge:
    api = api or FakeApi()
    stores = Stores()
    holder: list[Edge] = []
    observer = Observer(api, stores, hasher=PlainHasher(), checker=TemplateChecker(api), versions=lambda: versions)
    actuator = Actuator(api, stores, fence=fence, faults=Faults(None), versions=lambda: versions)
    reconciler = Reconciler(observer, actuator, stores, wake=lambda ns, n: holder[0].woken.append((ns, n)),
                            clock=clock or (lambda: holder[0].now))
    edge = Edge(api, stores, observer, actuator, reconciler)
    holder.append(edge)
    return edge


def with_release(body: Optional[dict[str, Any]] = None) -> Edge:
    e = build()
    e.api.put(RELEASES, body or release())
    e.sync()
    return e
