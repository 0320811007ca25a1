"""A container's environment as a kubelet builds it (env, envFrom, valueFrom, $(VAR) expansion)."""

from __future__ import annotations

import base64
import os
import re
from typing import Mapping

from ..layout import APISERVER_PORT, HOST, REPO_ROOT
from .api import ApiError, KubeClient

_HOST_VARS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")


class EnvError(Exception):
    """A referenced ConfigMap/Secret key is missing (the pod shows CreateContainerConfigError)."""


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: known variables are replaced, ``$$`` escapes."""

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, value)


def field_ref(pod: Mapping, pod_ip: str, path: str) -> str:
    meta = pod.get("metadata", {})
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str(meta.get(m.group(1), {}).get(m.group(2), ""))
    values = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": pod.get("spec", {}).get("nodeName", ""),
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName", ""),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": HOST,
    }
    return str(values.get(path, ""))


class _Refs:
    """ConfigMap/Secret lookups, cached for one container start."""

    def __init__(self, api: KubeClient, namespace: str) -> None:
        self.api, self.ns, self.cache = api, namespace, {}

    async def data(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        key = (kind, name)
        if key not in self.cache:
            plural = "configmaps" if kind == "ConfigMap" else "secrets"
            try:
                obj = await self.api.get(f"/api/v1/namespaces/{self.ns}/{plural}/{name}")
            except ApiError as e:
                if e.status != 404:
                    raise
                if optional:
                    return None
                raise EnvError(f'{kind.lower()} "{name}" not found') from None
            data = dict(obj.get("data") or {})
            if kind == "Secret":
                data = {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
            self.cache[key] = data
        return self.cache[key]


async def container_env(api: KubeClient, pod: Mapping, container: Mapping, pod_ip: str) -> dict[str, str]:
    meta = pod["metadata"]
    env: dict[str, str] = {k: os.environ[k] for k in _HOST_VARS if k in os.environ}
    env.update({
        "HOSTNAME": meta["name"],
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(REPO_ROOT),
        "KUBERNETES_SERVICE_HOST": HOST,
        "KUBERNETES_SERVICE_PORT": str(APISERVER_PORT),
        "POD_IP": pod_ip,
    })
    refs = _Refs(api, meta["namespace"])
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in src:
                data = await refs.data(kind, src[key]["name"], bool(src[key].get("optional")))
                env.update({prefix + k: v for k, v in (data or {}).items()})
    for var in container.get("env") or []:
        name = var["name"]
        if "valueFrom" not in var:
            env[name] = expand(var.get("value") or "", env)
            continue
        vf = var["valueFrom"]
        if "fieldRef" in vf:
            env[name] = field_ref(pod, pod_ip, vf["fieldRef"]["fieldPath"])
        elif "configMapKeyRef" in vf or "secretKeyRef" in vf:
            kind, ref = ("ConfigMap", vf["configMapKeyRef"]) if "configMapKeyRef" in vf else ("Secret", vf["secretKeyRef"])
            optional = bool(ref.get("optional"))
            data = await refs.data(kind, ref["name"], optional)
            if data is not None and ref["key"] in data:
                env[name] = data[ref["key"]]
            elif not optional:
                raise EnvError(f'couldn\'t find key {ref["key"]} in {kind} {meta["namespace"]}/{ref["name"]}')
        elif "resourceFieldRef" in vf:
            resource = vf["resourceFieldRef"]["resource"]
            kind, _, res = resource.partition(".")
            env[name] = str((container.get("resources", {}).get(kind) or {}).get(res, "0"))
    return env
