"""The operator's count of its own Kubernetes API requests, by the API server's verb and resource."""
from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from prometheus_client import CollectorRegistry

from ripcord.kube.client import BoundedApiClient, api_client
from ripcord.telemetry.kubecalls import Call, KubeApiCalls, classify

HOST = "https://127.0.0.1:16443"


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/apis/ripcord.dev/v1alpha1/namespaces/shop/releases/web", ("GET", "releases")),
    ("GET", "/apis/ripcord.dev/v1alpha1/namespaces/shop/releases", ("LIST", "releases")),
    ("GET", "/apis/ripcord.dev/v1alpha1/releases?watch=true&resourceVersion=5", ("WATCH", "releases")),
    ("GET", "/apis/apps/v1/namespaces/shop/deployments/web-a", ("GET", "deployments")),
    ("GET", "/api/v1/namespaces/shop/pods?labelSelector=ripcord.dev%2Frelease%3Dweb", ("LIST", "pods")),
    ("GET", "/api/v1/namespaces/shop/services/web", ("GET", "services")),
    ("PATCH", "/apis/ripcord.dev/v1alpha1/namespaces/shop/releases/web/status", ("PATCH", "releases/status")),
    ("PUT", "/apis/apps/v1/namespaces/shop/deployments/web-a/scale", ("PUT", "deployments/scale")),
    ("POST", "/apis/apps/v1/namespaces/shop/deployments?dryRun=All", ("POST", "deployments")),
    ("POST", "/api/v1/namespaces/shop/events", ("POST", "events")),
    ("DELETE", "/api/v1/namespaces/shop/pods/web-a-1-x", ("DELETE", "pods")),
    ("DELETE", "/api/v1/namespaces/shop/pods", ("DELETECOLLECTION", "pods")),
    ("GET", "/api/v1/namespaces/shop", ("GET", "namespaces")),
    ("GET", "/api/v1/namespaces", ("LIST", "namespaces")),
    ("PUT", "/api/v1/namespaces/shop/finalize", ("PUT", "namespaces/finalize")),
    ("GET", "/api/v1/namespaces/shop/status", ("GET", "namespaces/status")),
    ("GET", "/api/v1/nodes/sandbox-node", ("GET", "nodes")),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/ripcord-system/leases/ripcord-operator",
     ("PUT", "leases")),
    ("get", "/version", ("GET", "")),
    ("GET", "/apis", ("GET", "")),
    ("GET", "/apis/apps/v1", ("GET", "")),
])
def test_classify_uses_the_api_servers_verbs_and_resources(method: str, path: str,
                                                            expected: tuple[str, str]) -> None:
    assert classify(method, HOST + path) == Call(*expected)
    assert classify(method, path) == Call(*expected)


class _FakeRest:
    """Stands in for the HTTP layer: records the request and answers 404."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **_: Any) -> Any:
        self.seen.append((method, url))
        raise client.ApiException(status=404, reason="Not Found")


def test_every_request_of_the_generated_api_is_counted_once_even_when_it_fails() -> None:
    registry = CollectorRegistry()
    calls = KubeApiCalls(registry)
    api = BoundedApiClient(client.Configuration(host=HOST), counter=calls.count)
    fake = _FakeRest()
    api.rest_client = fake
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    for _ in range(2):
        with pytest.raises(client.ApiException):
            apps.read_namespaced_deployment("web-a", "shop")
    with pytest.raises(client.ApiException):
        core.list_namespaced_pod("shop", label_selector="ripcord.dev/release=web")
    assert len(fake.seen) == 3

    def value(verb: str, resource: str) -> float | None:
        return registry.get_sample_value("ripcord_kube_api_requests_total", {"verb": verb, "resource": resource})

    assert value("GET", "deployments") == 2
    assert value("LIST", "pods") == 1
    assert value("GET", "pods") is None


def test_the_operators_client_counts_into_the_given_calls(tmp_path: Any, monkeypatch: Any) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        f"clusters: [{{name: k, cluster: {{server: '{HOST}', insecure-skip-tls-verify: true}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    calls = KubeApiCalls(CollectorRegistry())
    api = api_client(str(kubeconfig), counter=calls.count)
    assert isinstance(api, BoundedApiClient) and api.counter == calls.count
    assert api.configuration.host == HOST
