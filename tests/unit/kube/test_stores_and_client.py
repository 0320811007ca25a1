"""Watch-fed stores and the bounded, counted API client."""
from __future__ import annotations

from typing import Any

import pytest

from ripcord.kube.client import BoundedApiClient
from ripcord.kube.stores import Store, trim_deployment, trim_pod


def pod(name: str, release: str | None = "web", ns: str = "shop", **status: Any) -> dict[str, Any]:
    labels = {"ripcord.dev/release": release, "ripcord.dev/slot": "a"} if release else {}
    return {"metadata": {"name": name, "namespace": ns, "labels": labels, "managedFields": [{"big": "x" * 100}]},
            "spec": {"containers": [{"name": "app", "env": [{"name": "SECRET", "value": "s3cr3t"}]}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "app", "restartCount": 1, "image": "x", "imageID": "y"}],
                       **status}}


def test_a_store_keeps_only_what_ripcord_reads_and_groups_by_release() -> None:
    s = Store(trim_pod)
    assert s.apply("ADDED", pod("web-a-1")) == [("shop", "web")]
    s.apply(None, pod("web-a-2"))
    s.apply("ADDED", pod("api-a-1", release="api"))
    got = s.get("shop", "web-a-1")
    assert got is not None and "spec" not in got and "managedFields" not in got["metadata"]
    assert got["status"]["containerStatuses"] == [{"name": "app", "restartCount": 1}]
    assert [p["metadata"]["name"] for p in s.of_release("shop", "web")] == ["web-a-1", "web-a-2"]
    assert s.apply("DELETED", pod("web-a-1")) == [("shop", "web")]
    assert [p["metadata"]["name"] for p in s.of_release("shop", "web")] == ["web-a-2"]


def test_a_relabelled_object_wakes_both_releases_and_moves_group() -> None:
    s = Store(trim_deployment)
    s.apply("ADDED", {"metadata": {"name": "x", "namespace": "shop", "labels": {"ripcord.dev/release": "a"}}})
    touched = s.apply("MODIFIED", {"metadata": {"name": "x", "namespace": "shop", "labels": {"ripcord.dev/release": "b"}}})
    assert touched == [("shop", "a"), ("shop", "b")]
    assert s.of_release("shop", "a") == [] and len(s.of_release("shop", "b")) == 1


def test_a_full_listing_sweeps_objects_whose_deletion_the_watch_missed() -> None:
    s = Store(trim_pod)
    for name in ("web-a-1", "web-a-2"):
        s.apply("ADDED", pod(name))
    s.apply("ADDED", pod("other-1", ns="elsewhere", release="other"))
    touched = s.replace_all([pod("web-a-2")], namespaces={"shop"})
    assert touched == [("shop", "web")]
    assert s.get("shop", "web-a-1") is None and s.get("elsewhere", "other-1") is not None


def test_every_request_gets_a_timeout_unless_it_brings_its_own_and_is_counted() -> None:
    seen: list[Any] = []
    counted: list[tuple[str, str]] = []

    class Recording(BoundedApiClient):
        pass

    api = Recording(counter=lambda method, url: counted.append((method, url)))
    api.rest_client.request = lambda method, url, **kw: seen.append(kw["_request_timeout"])  # type: ignore[method-assign]
    api.call_api("GET", "https://h/api/v1/namespaces/ns/pods/p")
    api.call_api("GET", "https://h/api/v1/namespaces/ns/pods/p", _request_timeout=(1, 60))
    assert seen == [api.default_timeout, (1, 60)]
    assert counted == [("GET", "https://h/api/v1/namespaces/ns/pods/p")] * 2


def test_the_api_client_keeps_as_many_connections_as_asked(tmp_path: Any) -> None:
    from ripcord.kube.client import api_client
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("""apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
""")
    api = api_client(str(kubeconfig), connections=40)
    assert api.configuration.connection_pool_maxsize == 40
    assert api.rest_client.pool_manager.connection_pool_kw["maxsize"] == 40
