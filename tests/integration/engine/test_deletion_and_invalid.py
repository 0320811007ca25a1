"""Deleting a Release keeps the application serving; invalid specs change nothing."""
from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sandbox.gateway.client import GatewayClient, summarize
from tests.integration.support import Releases, capture, release_manifest, wait_for


@pytest.mark.integration
def test_delete_with_default_policy_leaves_the_stable_serving(releases: Releases, operator: Any, namespace: str,
                                                              kube: client.ApiClient) -> None:
    name = "keep"
    releases.apply(release_manifest(name, "1.0.0"))
    releases.wait_phase(name, "Stable", timeout=90)
    gw = GatewayClient()
    load = f"{namespace}-{name}"
    gw.put_load(load, namespace, service=name, rps=30, paths=["/api/status"])
    try:
        gw.wait_rows(load, lambda rows: summarize(rows)["ok"] >= 30, timeout_s=30)
        releases.delete(name)
        wait_for(lambda: _gone(releases, name), 60, "the Release to be deleted")
        start = max(r["t"] for r in gw.record(load))
        rows = gw.wait_rows(load, lambda rows: sum(r["total"] for r in rows if r["t"] > start) >= 150,
                            timeout_s=30)
        after = summarize([r for r in rows if r["t"] > start])
        assert after["failed"] == 0 and after["ok"] >= 150, after
        dep = client.AppsV1Api(kube).read_namespaced_deployment(f"{name}-a", namespace)
        assert not dep.metadata.owner_references
        assert dep.spec.replicas == 2
    finally:
        gw.delete_load(load)


def _gone(releases: Releases, name: str) -> bool:
    try:
        releases.get(name)
    except ApiException as exc:
        return exc.status == 404
    return False


@pytest.mark.integration
def test_schema_rejects_bad_input(releases: Releases) -> None:
    bad = release_manifest("bad", "1.0.0")
    bad["spec"]["traffic"]["provider"] = "carrier-pigeon"
    with pytest.raises(ApiException) as exc:
        releases.apply(bad)
    assert exc.value.status == 422 and "carrier-pigeon" in exc.value.body


@pytest.mark.integration
def test_invalid_spec_changes_nothing(releases: Releases, operator: Any, namespace: str,
                                      kube: client.ApiClient) -> None:
    name = "inv"
    releases.apply(release_manifest(name, "1.0.0"))
    releases.wait_phase(name, "Stable", timeout=90)
    before = client.AppsV1Api(kube).list_namespaced_deployment(namespace).items
    # passes the schema, fails the operator's validation: steps must increase
    broken = release_manifest(name, "2.0.1", steps=[50, 20])
    releases.apply(broken)
    status = releases.wait_phase(name, "InvalidSpec", timeout=30)
    capture("invalid-spec", releases.get(name))
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "InvalidSpec"
    assert "steps must increase" in stalled["message"]
    releases.wait_event(name, "InvalidSpec")
    after = client.AppsV1Api(kube).list_namespaced_deployment(namespace).items
    assert [(d.metadata.name, d.metadata.generation) for d in after] == \
           [(d.metadata.name, d.metadata.generation) for d in before]
    # a template the API server refuses is caught by a dry run, before anything is created
    refused = release_manifest(name, "2.0.2")
    refused["spec"]["template"]["spec"]["containers"][0]["name"] = "Not_A_DNS_Label"
    releases.apply(refused)
    status = wait_for(lambda: (s := releases.status(name)).get("phase") == "InvalidSpec"
                      and "refused" in s.get("message", "") and s, 30, "the refused template")
    assert status.get("rollout") is None
    assert [(d.metadata.name, d.metadata.generation) for d in client.AppsV1Api(kube).list_namespaced_deployment(namespace).items] == \
           [(d.metadata.name, d.metadata.generation) for d in before]
