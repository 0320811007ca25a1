"""Small builders and readers for the sandbox's own tests."""

from __future__ import annotations

from typing import Any

from kubernetes import client

TEST_IMAGE = "ripcord/sandbox-test:1"


def pod_manifest(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 5, "containers": containers, **spec}}


def container(name: str = "c", image: str = TEST_IMAGE, port: int = 8080, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "ports": [{"name": "http", "containerPort": port}],
            "args": ["--port", str(port)] if image == TEST_IMAGE else [], **extra}


def create_pod(kube: client.ApiClient, namespace: str, manifest: dict[str, Any]) -> None:
    client.CoreV1Api(kube).create_namespaced_pod(namespace, manifest)


def read_pod(kube: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    """The pod as plain JSON (camelCase keys), as kubectl shows it."""
    return kube.sanitize_for_serialization(client.CoreV1Api(kube).read_namespaced_pod(name, namespace))


def condition(pod: dict[str, Any], type_: str) -> str | None:
    return next((c["status"] for c in pod.get("status", {}).get("conditions") or [] if c["type"] == type_), None)


def container_status(pod: dict[str, Any], name: str = "c") -> dict[str, Any]:
    return next((c for c in pod.get("status", {}).get("containerStatuses") or [] if c["name"] == name), {})


def pid_of(pod: dict[str, Any], name: str = "c") -> int:
    """The local process id behind a running container (containerID ``sandbox://uid/name/pid``)."""
    return int(container_status(pod, name)["containerID"].rsplit("/", 1)[1])


def events(kube: client.ApiClient, namespace: str, pod: str) -> list[client.CoreV1Event]:
    return client.CoreV1Api(kube).list_namespaced_event(
        namespace, field_selector=f"involvedObject.name={pod}").items
