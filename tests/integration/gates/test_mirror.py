"""Mirrored traffic on the sandbox: the canary judged on mirrored live requests at weight 0.

The gateway-api provider writes a RequestMirror filter on the HTTPRoute; the sandbox gateway
copies that share of the route's requests to the canary's Service, discards the answers and
labels the copies ``mirrored="true"`` in its metrics, which the analysis reads in the mirror
phase. A canary that fails on the copies is rolled back with no user request failed.
"""
from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

import pytest

from tests.integration.analysis.conftest import Load, entry, wait_status
from tests.integration.support import Releases, release_manifest, wait_for

PROVIDER = "gateway-api"
ERRORS = {"name": "gateway-errors", "type": "error-rate", "source": "gateway", "judge": "threshold", "max": 0.05}


def manifest(name: str, version: str) -> dict[str, Any]:
    return release_manifest(name, version, provider=PROVIDER, steps=[20, 50],
                            traffic={"provider": PROVIDER, "gatewayRef": {"name": "sandbox-gateway",
                                                                          "namespace": "default"},
                                     "mirror": {"percent": 50, "duration": "8s"}},
                            analysis={"metrics": [ERRORS], "minRequests": 10, "interval": "2s", "stepDuration": "4s",
                                      "podHealth": {"readyDeadline": "30s"}})


def route_filters(releases: Releases, name: str) -> list[Any]:
    route = releases.custom.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", releases.ns,
                                                         "httproutes", name)
    return [f for rule in route["spec"]["rules"] for f in rule.get("filters") or []]


def prom_value(url: str, query: str) -> float:
    with urllib.request.urlopen(f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": query}), timeout=5) as r:
        result = json.load(r)["data"]["result"]
    return sum(float(s["value"][1]) for s in result)


@pytest.mark.integration
def test_a_canary_failing_on_mirrored_requests_is_rolled_back_with_no_user_request_failed(
        sandbox: Any, releases: Releases, operator: Any, load: Load) -> None:
    name = "mirrored"
    releases.apply(manifest(name, "1.0.0"))
    releases.wait_phase(name, "Stable", timeout=90)
    traffic = load.start(name, rps=40, provider=PROVIDER)

    releases.apply(manifest(name, "2.0.0"))
    phase = wait_status(releases, name, lambda s: (s.get("rollout") or {}).get("mirror") == 50, 90,
                        "the mirror phase")
    assert phase["phase"] == "Progressing" and "mirrored" in phase["message"]
    wait_for(lambda: route_filters(releases, name), 30, "the RequestMirror filter on the route")
    [mirror] = route_filters(releases, name)
    assert mirror["requestMirror"]["percent"] == 50 and mirror["requestMirror"]["backendRef"]["name"] == f"{name}-b"
    status = releases.wait_outcome(name, "RolledBack", timeout=120)
    bad = next(h for h in status["history"] if h["version"] == "2.0.0")
    assert bad["weightReached"] == 0 and bad["reason"]["kind"] == "Metric", bad["reason"]
    assert bad["reason"]["message"].startswith("gateway-errors = 100% over the step so far, breached <= 5%")
    assert bad["reason"]["message"].endswith("on 50% mirrored requests (weight 0)"), bad["reason"]
    events = [t["event"] for t in bad["timeline"]]
    assert "MirrorStarted" in events and "StepStarted" not in events
    seen = load.summary(traffic)
    assert seen["failed"] == 0 and "2.0.0" not in seen["by_version"], seen["by_version"]
    wait_for(lambda: not route_filters(releases, name), 30, "the mirror filter gone from the route")
    copies = prom_value(sandbox.prometheus_url, f'sum(gateway_requests_total{{namespace="{releases.ns}",'
                                                f'backend_service="{name}-b",mirrored="true",code="500"}})')
    assert copies > 0, "the canary's answers to the copies are in the metrics, labelled mirrored"

    releases.apply(manifest(name, "2.0.1"))
    status = releases.wait_outcome(name, "Promoted", rollout_id=bad["id"] + 1, timeout=180)
    good = entry(status, bad["id"] + 1)
    events = [t["event"] for t in good["timeline"]]
    assert events.index("MirrorStarted") < events.index("MirrorPassed") < events.index("StepStarted"), events
    passed = next(t for t in good["timeline"] if t["event"] == "MirrorPassed")
    assert "gave Pass" in passed["message"] or "gave Inconclusive" in passed["message"]
    assert load.summary(traffic)["failed"] == 0
