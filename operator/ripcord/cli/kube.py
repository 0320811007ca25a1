"""The plugin's reads from the API server, with the user's kubeconfig, as plain JSON dicts.

kubectl runs a plugin with its own environment (``KUBECONFIG`` included) but does not pass
its global flags on, so the plugin loads the kubeconfig itself and honours the same
``--kubeconfig``, ``--context`` and ``-n`` flags, with the context's namespace as default.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from ripcord.cli.render import Obj, WorkloadPods, dig
from ripcord.contract import GROUP, PLURAL, RELEASE_LABEL, VERSION, VERSION_ANNOTATION


class NotFound(LookupError):
    pass


def _kubeconfig_path(kubeconfig: Optional[str]) -> Optional[str]:
    return kubeconfig or os.environ.get("KUBECONFIG") or None


def load(kubeconfig: Optional[str], context: Optional[str]) -> tuple[client.ApiClient, str]:
    """An ApiClient for the chosen kubeconfig/context and that context's default namespace."""
    path = _kubeconfig_path(kubeconfig)
    kwargs: dict[str, Any] = {"context": context}
    if path:
        kwargs["config_file"] = path
    api = config.new_client_from_config(**kwargs)
    namespace = "default"
    try:
        contexts, active = config.list_kube_config_contexts(**({"config_file": path} if path else {}))
        chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
        namespace = dig(chosen, "context", "namespace", default="default")
    except (config.ConfigException, OSError):
        pass
    return api, namespace


class Cluster:
    """Typed reads of a Release and what it owns; everything comes back as JSON-shaped dicts."""

    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)

    def release(self, namespace: str, name: str) -> Obj:
        try:
            release: Mapping[str, Any] = dict(self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace,
                                                                                       PLURAL, name))
            return release
        except ApiException as exc:
            if exc.status == 404:
                raise NotFound(f'release "{name}" not found in namespace "{namespace}"') from exc
            raise

    def releases(self, namespace: Optional[str]) -> list[Obj]:
        if namespace is None:
            items = self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)["items"]
        else:
            items = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)["items"]
        return sorted(items, key=lambda r: (dig(r, "metadata", "namespace", default=""), dig(r, "metadata", "name")))

    def find(self, name: str) -> list[Obj]:
        """Releases named ``name`` in every namespace (``-A`` with a name)."""
        items = self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL,
                                                       field_selector=f"metadata.name={name}")["items"]
        return sorted(items, key=lambda r: dig(r, "metadata", "namespace", default=""))

    def workloads(self, release: Obj) -> list[WorkloadPods]:
        """The Release's Deployments (both slots, and an adopted workloadRef while it still runs)."""
        ns, name = release["metadata"]["namespace"], release["metadata"]["name"]
        found = {d.metadata.name: d for d in
                 self.apps.list_namespaced_deployment(ns, label_selector=f"{RELEASE_LABEL}={name}").items}
        adopted = dig(release, "spec", "workloadRef", "name")
        if adopted and adopted not in found:
            try:
                found[adopted] = self.apps.read_namespaced_deployment(adopted, ns)
            except ApiException as exc:
                if exc.status != 404:
                    raise
        out = []
        for d in found.values():
            st = d.status
            out.append(WorkloadPods(deployment=d.metadata.name, desired=int(d.spec.replicas or 0),
                                    ready=int((st and st.ready_replicas) or 0),
                                    updated=int((st and st.updated_replicas) or 0),
                                    version=(d.metadata.annotations or {}).get(VERSION_ANNOTATION, "")))
        return out

    def events(self, release: Obj) -> list[Obj]:
        """The Release's Events as JSON (camelCase keys, RFC 3339 strings), oldest first."""
        ns, name = release["metadata"]["namespace"], release["metadata"]["name"]
        items = self.core.list_namespaced_event(
            ns, field_selector=f"involvedObject.kind=Release,involvedObject.name={name}").items
        uid = release["metadata"].get("uid")
        out = [self.api.sanitize_for_serialization(e) for e in items]
        out = [e for e in out if uid is None or dig(e, "involvedObject", "uid") in (None, uid)]
        return sorted(out, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
