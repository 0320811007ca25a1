"""Watches, not polls: a Release at rest costs no API request; a referenced Secret's change is seen in
seconds; Secrets the Release does not reference are never read."""
from __future__ import annotations

import base64
import socket
import time
import urllib.request
from typing import Any, Callable

import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.support import Releases, release_manifest, wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def requests_by_kind(port: int) -> dict[tuple[str, str], float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "ripcord_kube_api_requests":
            for s in family.samples:
                if s.name.endswith("_total"):
                    out[(s.labels["verb"], s.labels["resource"])] = s.value
    return out


def secret(core: client.CoreV1Api, ns: str, name: str, value: str) -> None:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "data": {"key": base64.b64encode(value.encode()).decode()}}
    try:
        core.replace_namespaced_secret(name, ns, body)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
        core.create_namespaced_secret(ns, body)


@pytest.mark.integration
def test_at_rest_no_request_and_a_referenced_secret_change_starts_a_rollout_in_seconds(
        releases: Releases, operator_factory: Callable[..., Any], namespace: str, kube: client.ApiClient) -> None:
    core = client.CoreV1Api(kube)
    secret(core, namespace, "web-config", "one")
    secret(core, namespace, "unrelated", "x")
    port = free_port()
    operator_factory(RIPCORD_METRICS_PORT=str(port))
    body = release_manifest("web", "1.0.0")
    body["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "CONFIG", "valueFrom": {"secretKeyRef": {"name": "web-config", "key": "key"}}})
    releases.apply(body)
    releases.wait_phase("web", "Stable", timeout=90)
    wait_for(lambda: not (releases.status("web").get("outbox")), 30, "the outbox delivered and acknowledged")

    before = wait_for(lambda: requests_by_kind(port) or None, 10, "the operator's metrics")
    time.sleep(10)  # a window of rest: nothing may be asked of the API server in it
    at_rest = requests_by_kind(port)
    assert at_rest == before, f"requests while at rest: {set(at_rest.items()) - set(before.items())}"

    for i in range(3):
        secret(core, namespace, "unrelated", f"y{i}")  # a Secret no template references
    t0 = time.monotonic()
    secret(core, namespace, "web-config", "two")
    status = wait_for(lambda: (s := releases.status("web")).get("rollout") and s, 15,
                      "a rollout started by the Secret's change")
    seen_after = time.monotonic() - t0
    assert status["history"][0]["version"] == "1.0.0"
    assert seen_after < 10, f"took {seen_after:.1f}s"
    gets = requests_by_kind(port).get(("GET", "secrets"), 0) - before.get(("GET", "secrets"), 0)
    assert gets == 1, f"only the changed, referenced Secret is read (got {gets} GETs)"
