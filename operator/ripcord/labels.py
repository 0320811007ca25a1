"""The recommended ``app.kubernetes.io/*`` labels, one definition for the manifests and the CRD.

Shipped objects (``manifests/``, the generated CRD) carry all six; a unit test checks every
object ``kubectl kustomize`` builds. The operator's own objects (the Deployments, Services
and HTTPRoutes of a Release) can use :func:`standard` with ``managed_by="ripcord"``.
"""
from __future__ import annotations

from importlib import metadata

NAME = "ripcord"
PART_OF = "ripcord"


def version() -> str:
    """The installed package's version (``pyproject.toml``)."""
    try:
        return metadata.version("ripcord")
    except metadata.PackageNotFoundError:
        return "unknown"


def standard(component: str, *, instance: str = NAME, name: str = NAME, managed_by: str = "kustomize",
             app_version: str | None = None) -> dict[str, str]:
    """``app.kubernetes.io/name|instance|version|component|part-of|managed-by``."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/version": app_version or version(),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": managed_by,
    }
