"""The Kopf edge: watches that feed the stores and wake Releases. Thin on purpose.

Kopf watches the Releases (server-side filtered to this replica's shard) and the objects
Releases own (server-side filtered by the ``ripcord.dev/release`` label). Every event
updates a store (``ripcord.kube.stores``) and wakes the Release it concerns; the scheduler
(``ripcord.runtime.scheduler``) runs the reconciles. Kopf itself writes nothing: there
are no change handlers, timers or daemons, so it adds no finalizer and no annotation (the
finalizer is Ripcord's own, written by the reconciler under the leadership fence).
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Callable, Optional

import kopf

from ripcord.contract import GROUP, PLURAL, RELEASE_LABEL, SHARD_LABEL, VERSION
from ripcord.kube.discovery import CURRENT
from ripcord.kube.kinds import GENERIC
from ripcord.runtime.app import Runtime

log = logging.getLogger("ripcord.operator")

_factory: dict[str, Callable[[], Runtime]] = {}
_runtime: dict[str, Runtime] = {}
_flags: list[threading.Event] = []
_tasks: list["asyncio.Task[None]"] = []  # our own background tasks, cancelled at cleanup
OWNED = {"Deployment": ("apps", "v1", "deployments"), "Service": ("", "v1", "services"),
         "Pod": ("", "v1", "pods")}
#: Kinds watched in the version the server serves (ripcord.kube.discovery): HTTPRoute, HPA, PDB,
#: VirtualService, DestinationRule. HTTPRoutes are watched without a label selector: a user's
#: own route (traffic.routeRef) carries no Ripcord label.
VERSIONED = tuple(GENERIC)
UNLABELLED = ("HTTPRoute",)


def install(factory: Callable[[], Runtime], stop_flag: Optional[threading.Event] = None) -> None:
    """``factory`` builds the runtime at each operator start (each leadership term). ``stop_flag``:
    the flag Kopf was started with, set at cleanup whatever stopped Kopf (Kopf waits for that flag in
    a thread of the default executor, which would otherwise keep the process from ending)."""
    _factory["runtime"] = factory
    _flags.clear()
    if stop_flag is not None:
        _flags.append(stop_flag)


def runtime() -> Runtime:
    return _runtime["current"]


def release_selector(shard: Optional[str]) -> str:
    """The Releases a shard reconciles: its label value, or (the default shard) those without the label."""
    return f"{SHARD_LABEL}={shard}" if shard else f"!{SHARD_LABEL}"


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
    rt = _factory["runtime"]()
    _runtime["current"] = rt
    settings.persistence.finalizer = "ripcord.dev/kopf"  # never used: no handler needs a Kopf finalizer
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="ripcord.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="ripcord.dev", key="last-handled-configuration")
    settings.posting.enabled = False  # Ripcord posts its own Events, from the outbox
    settings.watching.server_timeout = 240  # the API server ends each watch, Kopf reconnects
    settings.watching.client_timeout = 300  # a watch silent for longer is abandoned (no hung stream)
    settings.watching.connect_timeout = 10
    settings.networking.request_timeout = 30
    settings.watching.label_selectors[GROUP, PLURAL] = release_selector(rt.settings.shard)
    for group, _version, plural in OWNED.values():
        settings.watching.label_selectors[(group, plural) if group else plural] = RELEASE_LABEL
    for kind in VERSIONED:
        if kind not in UNLABELLED:
            settings.watching.label_selectors[GENERIC[kind]] = RELEASE_LABEL
    if rt.settings.namespaces and not any(ch in n for n in rt.settings.namespaces for ch in "*?!,"):
        settings.scanning.disabled = True  # exact namespaces: no need to list them (a namespaced install cannot)
    rt.tracker.start()
    # The caches first, then the reconciles: read from an empty pod cache, every Release at rest
    # would look unready and be rewritten (Initializing, then Stable again) on every restart.
    try:
        await asyncio.get_running_loop().run_in_executor(None, lambda: rt.relist(wake=False))
    except Exception:  # noqa: BLE001 - the watches fill the caches anyway, a little later
        log.exception("the first listing of the owned objects failed")
    rt.scheduler.start()
    _tasks.append(asyncio.create_task(_relist_forever(rt)))


async def _relist_forever(rt: Runtime) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(rt.settings.resync_s)
        try:
            await loop.run_in_executor(None, rt.relist)
        except Exception:  # noqa: BLE001 - the next period tries again
            log.exception("relist failed")


@kopf.on.cleanup()
async def cleanup(**_: Any) -> None:
    """Stop taking work and wait for the reconciles in flight, then stop the other threads."""
    for flag in _flags:
        flag.set()
    for task in _tasks:  # a task left running holds Kopf's exit for 5 s (and the Lease with it)
        task.cancel()
    _tasks.clear()
    rt = _runtime.get("current")
    if rt is None:
        return
    await rt.scheduler.stop()
    rt.stop_threads()
    if rt.notifier is not None and hasattr(rt.notifier, "close"):
        await asyncio.get_running_loop().run_in_executor(None, rt.notifier.close, 10)


@kopf.on.login(id="login")
def login(**_: Any) -> kopf.ConnectionInfo:
    """Kopf connects with the same credentials as the reconciler's client (kubeconfig or in-cluster)."""
    cfg = runtime().api.configuration
    token = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
    scheme = None
    if token and " " in token:
        scheme, token = token.split(" ", 1)
    return kopf.ConnectionInfo(server=cfg.host, ca_path=cfg.ssl_ca_cert, insecure=not cfg.verify_ssl,
                               scheme=scheme or ("Bearer" if token else None), token=token,
                               certificate_path=cfg.cert_file, private_key_path=cfg.key_file)


@kopf.on.probe(id="watches")
def watches(**_: Any) -> str:
    """Liveness: the probe fails (HTTP 500) when a watch this operator runs itself has died."""
    rt = runtime()
    if not rt.tracker.alive():
        raise RuntimeError("the ConfigMap/Secret metadata watch stopped")
    return "ok"


# ------------------------------------------------------------------ watch events -> stores -> wakes

@kopf.on.event(GROUP, VERSION, PLURAL, id="releases")
async def release_event(event: kopf.RawEvent, **_: Any) -> None:
    rt = runtime()
    obj = event["object"]
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    rt.stores.releases.apply(event.get("type"), obj)
    rt.stores.route_refs.update(obj, deleted=event.get("type") == "DELETED")
    if event.get("type") == "DELETED":
        rt.scheduler.forget(ns, name)
        rt.reconciler.forget((ns, name))
        if rt.metrics is not None:
            rt.metrics.forget(ns, name)
    else:
        rt.scheduler.wake(ns, name)


def _owned(kind: str) -> Callable[..., Any]:
    async def handler(event: kopf.RawEvent, **_: Any) -> None:
        rt = runtime()
        for ns, release in rt.stores.by_kind(kind).apply(event.get("type"), event["object"]):
            rt.scheduler.wake(ns, release)
    handler.__name__ = f"{kind.lower()}_event"
    return handler


def served(kind: str) -> Callable[[kopf.Resource], bool]:
    """A Kopf resource selector: ``kind`` in the version the server serves (none: not watched)."""
    group, plural = GENERIC[kind]

    def check(resource: kopf.Resource) -> bool:
        rt = _runtime.get("current")
        versions = rt.discovery.cached() if rt is not None else CURRENT
        return resource.group == group and resource.plural == plural and resource.version == versions.of(group)
    check.__name__ = f"served_{plural}"
    return check


async def user_route_event(event: kopf.RawEvent, **_: Any) -> None:
    """A user's HTTPRoute (no Ripcord label): kept for the Releases that name it, which are woken."""
    rt = runtime()
    obj = event["object"]
    meta = obj.get("metadata") or {}
    rt.stores.user_routes.apply(event.get("type"), obj)
    for release in rt.stores.route_refs.releases_of(meta.get("namespace", ""), meta.get("name", "")):
        rt.scheduler.wake(meta.get("namespace", ""), release)


for _kind, (_group, _version, _plural) in OWNED.items():
    kopf.on.event(_group, _version, _plural, id=_kind.lower() + "s",
                  labels={RELEASE_LABEL: kopf.PRESENT})(_owned(_kind))
for _kind in VERSIONED:
    kopf.on.event(served(_kind), id=_kind.lower() + "s", labels={RELEASE_LABEL: kopf.PRESENT})(_owned(_kind))
kopf.on.event(served("HTTPRoute"), id="user-httproutes", labels={RELEASE_LABEL: kopf.ABSENT})(user_route_event)
