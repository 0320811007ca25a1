"""The operator's parts, assembled once per leadership term: stores, reconciler, scheduler, watches.

Built fresh each time this replica starts leading (``ripcord.operator``'s startup), so
nothing cached during an earlier term outlives it.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Optional, cast

from ripcord.actuate.kube import Actuator, Fence, always_leading
from ripcord.contract import RELEASE_LABEL
from ripcord.kube.configwatch import ConfigTracker
from ripcord.kube.discovery import Discovery
from ripcord.kube.kinds import GENERIC, served
from ripcord.kube.dryrun import TemplateChecker
from ripcord.kube.stores import Stores
from ripcord.observe import Observer, SpecCheck
from ripcord.reconcile import Reconciler
from ripcord.runtime.scheduler import Scheduler

log = logging.getLogger("ripcord.runtime")


@dataclasses.dataclass
class Settings:
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    shard: Optional[str] = None  # None: the default shard (Releases without the shard label)
    workers: int = 32
    resync_s: float = 300.0


@dataclasses.dataclass
class Runtime:
    settings: Settings
    stores: Stores
    reconciler: Reconciler
    scheduler: Scheduler
    tracker: ConfigTracker
    api: Any
    metrics: Any = None
    notifier: Any = None
    discovery: Any = None  # ripcord.kube.discovery.Discovery: the API versions the server serves

    def stop_threads(self) -> None:
        self.tracker.stop()

    def relist(self, wake: bool = True) -> None:
        """List every owned kind once and sweep what the watches missed (objects deleted during a
        watch gap); wakes the Releases whose objects changed (``wake``: not at start, when every
        Release is reconciled on its own watch event anyway). One LIST per kind (and namespace).
        The server's API versions are refreshed first when due (rarely)."""
        from kubernetes import client
        from kubernetes.client.rest import ApiException
        core, apps, custom = client.CoreV1Api(self.api), client.AppsV1Api(self.api), client.CustomObjectsApi(self.api)
        ser = self.api.sanitize_for_serialization
        nss: list[Optional[str]] = list(self.settings.namespaces) or [None]
        versions = self.discovery.refresh_if_due() if self.discovery is not None else None
        listers: dict[str, Callable[[Optional[str]], list[Any]]] = {
            "Deployment": lambda ns: [ser(d) for d in (apps.list_namespaced_deployment(ns, label_selector=RELEASE_LABEL)
                                                       if ns else apps.list_deployment_for_all_namespaces(
                                                           label_selector=RELEASE_LABEL)).items],
            "Service": lambda ns: [ser(s) for s in (core.list_namespaced_service(ns, label_selector=RELEASE_LABEL)
                                                    if ns else core.list_service_for_all_namespaces(
                                                        label_selector=RELEASE_LABEL)).items],
            "Pod": lambda ns: [ser(p) for p in (core.list_namespaced_pod(ns, label_selector=RELEASE_LABEL)
                                                if ns else core.list_pod_for_all_namespaces(
                                                    label_selector=RELEASE_LABEL)).items],
        }

        def generic(kind: str, version: str, selector: Optional[str]) -> Callable[[Optional[str]], list[Any]]:
            group, plural = GENERIC[kind]

            def lister(ns: Optional[str]) -> list[Any]:
                found = cast(dict[str, Any], (
                    custom.list_namespaced_custom_object(group, version, ns, plural, label_selector=selector) if ns
                    else custom.list_cluster_custom_object(group, version, plural, label_selector=selector)))
                return list(found["items"])
            return lister

        for kind in GENERIC:
            version = served(kind, versions) if versions is not None else None
            if version is not None:  # HTTPRoutes: all of them (users' own carry no label), split below
                listers[kind] = generic(kind, version, None if kind == "HTTPRoute" else RELEASE_LABEL)
        for kind, lister in listers.items():
            objs: list[Any] = []
            try:
                for ns in nss:
                    objs += lister(ns)
            except ApiException as exc:
                if exc.status != 404:  # 404: no such resource in this cluster (no Gateway API)
                    log.warning("relist of %s failed: %s", kind, exc.reason)
                continue
            scope = set(self.settings.namespaces) or None
            if kind == "HTTPRoute":
                self.stores.user_routes.replace_all(
                    [o for o in objs if RELEASE_LABEL not in ((o.get("metadata") or {}).get("labels") or {})], scope)
                objs = [o for o in objs if RELEASE_LABEL in ((o.get("metadata") or {}).get("labels") or {})]
            for ns, release in self.stores.by_kind(kind).replace_all(objs, scope):
                if wake:
                    self.scheduler.wake(ns, release)


def build(api: Any, settings: Settings, *, analyzer: Any = None, check_spec: Optional[SpecCheck] = None,
          notifier: Any = None, metrics: Any = None, fence: Fence = always_leading, prober: Any = None) -> Runtime:
    stores = Stores()
    scheduler_ref: list[Scheduler] = []

    def wake(ns: str, name: str) -> None:
        if scheduler_ref:
            scheduler_ref[0].wake(ns, name)

    tracker = ConfigTracker(api, wake, namespaces=settings.namespaces)
    discovery = Discovery(api)
    discovery.refresh()  # once at start: the watches are chosen by what the server serves
    observer = Observer(api, stores, hasher=tracker, checker=TemplateChecker(api), analyzer=analyzer,
                        check_spec=check_spec, versions=discovery.cached, prober=prober)
    reconciler = Reconciler(observer, Actuator(api, stores, fence=fence, versions=discovery.cached), stores,
                            notifier=notifier, metrics=metrics, wake=wake)
    scheduler = Scheduler(reconciler.reconcile, workers=settings.workers, resync_s=settings.resync_s,
                          on_error=reconciler.report_error, metrics=metrics)
    scheduler_ref.append(scheduler)
    return Runtime(settings=settings, stores=stores, reconciler=reconciler, scheduler=scheduler, tracker=tracker,
                   api=api, metrics=metrics, notifier=notifier, discovery=discovery)
