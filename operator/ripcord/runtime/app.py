"""The operator's parts, assembled once per leadership term: stores, reconciler, scheduler, watches.

Built fresh each time this replica starts leading (``ripcord.operator``'s startup), so
nothing cached during an earlier term outlives it.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Optional

from ripcord.actuate.kube import Actuator, Fence, always_leading
from ripcord.contract import RELEASE_LABEL, ROUTE_GROUP, ROUTE_PLURAL, ROUTE_VERSION
from ripcord.kube.configwatch import ConfigTracker
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
    workers: int = 8
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

    def stop_threads(self) -> None:
        self.tracker.stop()

    def relist(self) -> None:
        """List every owned kind once and sweep what the watches missed (objects deleted during a
        watch gap); wakes the Releases whose objects changed. One LIST per kind (and namespace)."""
        from kubernetes import client
        from kubernetes.client.rest import ApiException
        core, apps, custom = client.CoreV1Api(self.api), client.AppsV1Api(self.api), client.CustomObjectsApi(self.api)
        ser = self.api.sanitize_for_serialization
        nss = list(self.settings.namespaces) or [None]
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
            "HTTPRoute": lambda ns: (custom.list_namespaced_custom_object(
                ROUTE_GROUP, ROUTE_VERSION, ns, ROUTE_PLURAL, label_selector=RELEASE_LABEL) if ns else
                custom.list_cluster_custom_object(ROUTE_GROUP, ROUTE_VERSION, ROUTE_PLURAL,
                                                  label_selector=RELEASE_LABEL))["items"],
        }
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
            for ns, release in self.stores.by_kind(kind).replace_all(objs, scope):
                self.scheduler.wake(ns, release)


def build(api: Any, settings: Settings, *, analyzer: Any = None, check_spec: Optional[SpecCheck] = None,
          notifier: Any = None, metrics: Any = None, fence: Fence = always_leading, prober: Any = None) -> Runtime:
    stores = Stores()
    scheduler_ref: list[Scheduler] = []

    def wake(ns: str, name: str) -> None:
        if scheduler_ref:
            scheduler_ref[0].wake(ns, name)

    tracker = ConfigTracker(api, wake, namespaces=settings.namespaces)
    observer = Observer(api, stores, hasher=tracker, checker=TemplateChecker(api), analyzer=analyzer,
                        check_spec=check_spec, prober=prober)
    reconciler = Reconciler(observer, Actuator(api, stores, fence=fence), stores, notifier=notifier, metrics=metrics,
                            wake=wake)
    scheduler = Scheduler(reconciler.reconcile, workers=settings.workers, resync_s=settings.resync_s,
                          on_error=reconciler.report_error, metrics=metrics)
    scheduler_ref.append(scheduler)
    return Runtime(settings=settings, stores=stores, reconciler=reconciler, scheduler=scheduler, tracker=tracker,
                   api=api, metrics=metrics, notifier=notifier)
