"""What starts a rollout: a hash of the pod template and of the ConfigMaps and Secrets it uses.

The version label alone never starts one. The hash is taken over canonical JSON, so key
order and re-applying the same manifest change nothing.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping


def referenced_objects(template: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of every ConfigMap and Secret the pod template reads."""
    spec = template.get("spec") or {}
    found: set[tuple[str, str]] = set()
    for vol in spec.get("volumes") or []:
        if (cm := vol.get("configMap")) and cm.get("name"):
            found.add(("ConfigMap", cm["name"]))
        if (sec := vol.get("secret")) and sec.get("secretName"):
            found.add(("Secret", sec["secretName"]))
        for src in (vol.get("projected") or {}).get("sources") or []:
            if (cm := src.get("configMap")) and cm.get("name"):
                found.add(("ConfigMap", cm["name"]))
            if (sec := src.get("secret")) and sec.get("name"):
                found.add(("Secret", sec["name"]))
    for container in _containers(spec):
        for env_from in container.get("envFrom") or []:
            if (cm := env_from.get("configMapRef")) and cm.get("name"):
                found.add(("ConfigMap", cm["name"]))
            if (sec := env_from.get("secretRef")) and sec.get("name"):
                found.add(("Secret", sec["name"]))
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            if (cm := source.get("configMapKeyRef")) and cm.get("name"):
                found.add(("ConfigMap", cm["name"]))
            if (sec := source.get("secretKeyRef")) and sec.get("name"):
                found.add(("Secret", sec["name"]))
    return found


def _containers(spec: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def template_hash(template: Mapping[str, Any], referenced: Mapping[tuple[str, str], Any] | None = None) -> str:
    """A short stable hash of the template and the data of the objects it references.

    ``referenced`` maps (kind, name) to the object's data (None when it does not exist).
    """
    payload = {
        "template": template,
        "refs": sorted([[k, n, referenced[(k, n)]] for (k, n) in referenced]) if referenced else [],
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
