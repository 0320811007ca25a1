"""A healthy version goes through every step and is promoted, with every traffic provider."""
from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from sandbox.gateway.client import GatewayClient, summarize
from tests.integration.support import Releases, capture, release_manifest, wait_for


def _deployment(kube: client.ApiClient, ns: str, name: str) -> Any:
    return client.AppsV1Api(kube).read_namespaced_deployment(name, ns)


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["replicas", "gateway-api", "istio"])
def test_healthy_version_is_promoted_without_a_failed_request(provider: str, releases: Releases, operator: Any,
                                                             namespace: str, kube: client.ApiClient) -> None:
    name = "web"
    releases.apply(release_manifest(name, "1.0.0", provider=provider))
    releases.wait_phase(name, "Stable", timeout=90)

    gw = GatewayClient()
    target = {"gateway-api": {"route": name}, "istio": {"host": name}}.get(provider, {"service": name})
    gw.put_load(f"{namespace}-{name}", namespace, rps=40, paths=["/api/status", "/health"], **target)
    try:
        gw.wait_rows(f"{namespace}-{name}", lambda rows: summarize(rows)["ok"] >= 40, timeout_s=30)
        releases.apply(release_manifest(name, "2.0.1", provider=provider))
        progressing = releases.wait_phase(name, "Progressing", timeout=60)
        capture(f"progressing-{provider}", releases.get(name))
        assert progressing["canary"]["version"] == "2.0.1"

        watching = releases.wait_phase(name, "Watching", timeout=120)
        previous = watching["previous"]
        assert previous["version"] == "1.0.0"
        prev = _deployment(kube, namespace, previous["deployment"])
        assert prev.spec.replicas == 2, "the previous stable stays at full size through the watch"

        status = releases.wait_outcome(name, "Promoted", rollout_id=2, timeout=60)
        capture(f"promoted-{provider}", releases.get(name))
        assert status["stable"]["version"] == "2.0.1"
        entry = next(h for h in status["history"] if h["id"] == 2)
        events = [t["event"] for t in entry["timeline"]]
        assert events[0] == "Started" and events[-1] == "Promoted"
        assert events.count("StepStarted") == 2
        wait_for(lambda: (d := _deployment(kube, namespace, previous["deployment"])).spec.replicas == 0 and d,
                 30, "previous stable scaled to zero after the watch")

        rows = gw.wait_rows(f"{namespace}-{name}", lambda rows: bool(rows), timeout_s=5)
        summary = summarize(rows)
        assert summary["by_version"].get("2.0.1", 0) > 0
        assert summary["failed"] == 0, f"requests failed during the rollout: {summary}"
    finally:
        gw.delete_load(f"{namespace}-{name}")


@pytest.mark.integration
def test_reapplying_the_same_manifest_starts_nothing(releases: Releases, operator: Any) -> None:
    name = "same"
    manifest = release_manifest(name, "1.0.0")
    releases.apply(manifest)
    releases.wait_phase(name, "Stable", timeout=90)
    before = releases.status(name)
    releases.apply(manifest)
    manifest["spec"]["version"] = "1.0.0-relabelled"  # a label-only edit is not a rollout either
    releases.apply(manifest)
    after = wait_for(lambda: (s := releases.status(name))["stable"]["version"] == "1.0.0-relabelled" and s,
                     30, "label recorded")
    assert after.get("rollout") is None
    assert len(after["history"]) == len(before["history"]) == 1
