"""Builders for the demo app's Deployments, Services and HTTPRoutes, and waits on them."""

from __future__ import annotations

from typing import Any

from kubernetes import client

from sandbox.testing import wait_until

GROUP, VERSION = "gateway.networking.k8s.io", "v1"


def deployment(name: str, version: str, replicas: int = 1, labels: dict[str, str] | None = None,
               env: dict[str, str] | None = None) -> dict[str, Any]:
    """The demo app at ``version``; pods labelled ``app=<labels.app or name>`` plus ``slot=<name>``."""
    pod_labels = {"app": name, "slot": name, **(labels or {})}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"slot": name}},
            "template": {"metadata": {"labels": pod_labels}, "spec": {
                "terminationGracePeriodSeconds": 5,
                "containers": [{
                    "name": "app", "image": f"ripcord/demo-app:{version}",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 1},
                }],
            }},
        },
    }


def service(name: str, selector: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def httproute(name: str, backends: list[tuple[str, int]]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "HTTPRoute", "metadata": {"name": name},
            "spec": {"parentRefs": [{"name": "sandbox-gateway"}],
                     "rules": [{"backendRefs": [{"name": s, "port": 80, "weight": w} for s, w in backends]}]}}


def create(kube: client.ApiClient, namespace: str, *objs: dict[str, Any]) -> None:
    apps, core, custom = client.AppsV1Api(kube), client.CoreV1Api(kube), client.CustomObjectsApi(kube)
    for obj in objs:
        if obj["kind"] == "Deployment":
            apps.create_namespaced_deployment(namespace, obj)
        elif obj["kind"] == "Service":
            core.create_namespaced_service(namespace, obj)
        else:
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "httproutes", obj)


def wait_available(kube: client.ApiClient, namespace: str, name: str, replicas: int, timeout: float = 60) -> None:
    apps = client.AppsV1Api(kube)
    wait_until(lambda: (apps.read_namespaced_deployment(name, namespace).status.available_replicas or 0) == replicas,
               timeout, f"deployment {name}: {replicas} available")


def read_route(kube: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    return client.CustomObjectsApi(kube).get_namespaced_custom_object(GROUP, VERSION, namespace, "httproutes", name)


def our_conditions(route: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The sandbox gateway's conditions on the route, by type (empty until it wrote them)."""
    for parent in (route.get("status") or {}).get("parents") or []:
        if parent.get("controllerName") == "ripcord.dev/sandbox-gateway":
            return {c["type"]: c for c in parent.get("conditions") or []}
    return {}


def pod_ips(kube: client.ApiClient, namespace: str, selector: str) -> list[str]:
    pods = client.CoreV1Api(kube).list_namespaced_pod(namespace, label_selector=selector).items
    return [p.status.pod_ip for p in pods if p.status.pod_ip]
