"""The Kopf edge: handlers that hand each Release to the reconciler. Thin on purpose.

A timer per Release runs one reconcile per tick (observe, decide, record, act). Kopf's
own bookkeeping uses Ripcord's finalizer and annotation prefix; the status is written by
the reconciler, never by Kopf.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Sequence

import kopf

from ripcord.api.models import GROUP, PLURAL, VERSION
from ripcord.reconcile import Reconciler

log = logging.getLogger("ripcord.operator")

FINALIZER = "ripcord.dev/finalizer"
TICK_S = float(os.environ.get("RIPCORD_TICK_SECONDS", "1.0"))

_state: dict[str, Any] = {}


def install(reconciler: Reconciler, namespaces: Sequence[str] = ()) -> None:
    _state["reconciler"] = reconciler
    _state["namespaces"] = list(namespaces)


def _reconciler() -> Reconciler:
    return _state["reconciler"]


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="ripcord.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="ripcord.dev", key="last-handled-configuration")
    settings.posting.level = logging.WARNING  # Ripcord posts its own Events
    settings.watching.server_timeout = 60
    settings.watching.client_timeout = 90
    settings.execution.max_workers = int(os.environ.get("RIPCORD_WORKERS", "8"))
    if _state.get("namespaces") and not any(ch in n for n in _state["namespaces"] for ch in "*?!,"):
        settings.scanning.disabled = True  # exact namespaces: no need to list them (a namespaced install cannot)


@kopf.on.cleanup()
def cleanup(**_: Any) -> None:
    notifier = _reconciler().notifier
    if notifier is not None and hasattr(notifier, "close"):
        notifier.close(10)


@kopf.on.login(id="login")
def login(**_: Any) -> kopf.ConnectionInfo:
    """Kopf connects with the same credentials as the reconciler's client (kubeconfig or in-cluster)."""
    cfg = _reconciler().api_client.configuration
    token = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
    scheme = None
    if token and " " in token:
        scheme, token = token.split(" ", 1)
    return kopf.ConnectionInfo(server=cfg.host, ca_path=cfg.ssl_ca_cert, insecure=not cfg.verify_ssl,
                               scheme=scheme or ("Bearer" if token else None), token=token,
                               certificate_path=cfg.cert_file, private_key_path=cfg.key_file)


@kopf.timer(GROUP, VERSION, PLURAL, id="reconcile", interval=TICK_S, sharp=False, backoff=1.0)
def reconcile(name: str, namespace: str, **_: Any) -> None:
    _reconciler().reconcile(namespace, name)


@kopf.on.delete(GROUP, VERSION, PLURAL, id="deletion-policy", backoff=2.0)
def deleted(body: kopf.Body, **_: Any) -> None:
    _reconciler().release_deleted(dict(body))
