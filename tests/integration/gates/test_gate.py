"""The pre-traffic gate on the sandbox: a 2.0.0-like canary rolled back before any user request reaches it.

``ripcord run`` under the shipped RBAC, the gateway-api provider, steady user traffic through
the route; the gate's requests go to the canary's own Service through the operator's
``gates.serviceUrl`` (on the sandbox: the gateway stand-in's proxy path, cluster DNS's stand-in).
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from tests.integration.analysis.conftest import Load, entry, wait_status
from tests.integration.support import Releases, release_manifest

PROVIDER = "gateway-api"
GATE = {"requests": [{"path": "/health"}, {"path": "/api/status"}], "successes": 2, "interval": "1s",
        "timeout": "2s"}


def manifest(name: str, version: str) -> dict[str, Any]:
    return release_manifest(name, version, provider=PROVIDER, steps=[20, 50], gate=GATE,
                            analysis={"podHealth": {"readyDeadline": "30s"}})


@pytest.mark.integration
def test_the_gate_rolls_back_2_0_0_before_any_user_request_and_lets_2_0_1_through(
        releases: Releases, operator: Any, load: Load) -> None:
    name = "gated"
    releases.apply(manifest(name, "1.0.0"))
    releases.wait_phase(name, "Stable", timeout=90)
    traffic = load.start(name, rps=40, provider=PROVIDER)

    releases.apply(manifest(name, "2.0.0"))  # /health and /api/status answer 500, /ready is fine
    status = releases.wait_outcome(name, "RolledBack", timeout=120)
    bad = next(h for h in status["history"] if h["version"] == "2.0.0")
    reason = bad["reason"]
    assert reason["kind"] == "Gate" and reason["weight"] == 0 and bad["weightReached"] == 0
    assert reason["message"].startswith("pre-traffic gate: GET /health answered 500") or \
        reason["message"].startswith("pre-traffic gate: GET /api/status answered 500"), reason
    assert "(expected 2xx)" in reason["message"] and ("TypeError" in reason["message"]
                                                      or "Database" in reason["message"]), reason
    events = [t["event"] for t in bad["timeline"]]
    assert "GateStarted" in events and "StepStarted" not in events, events
    seen = load.summary(traffic)
    assert seen["failed"] == 0 and "2.0.0" not in seen["by_version"], \
        f"no user request reached 2.0.0: {seen['by_version']}, failed {seen['failed']}"
    releases.wait_event(name, "RolledBack")

    releases.apply(manifest(name, "2.0.1"))
    status = releases.wait_outcome(name, "Promoted", rollout_id=bad["id"] + 1, timeout=150)
    good = entry(status, bad["id"] + 1)
    passed = [t for t in good["timeline"] if t["event"] == "GatePassed"]
    assert passed and "GET /health answered 200" in passed[0]["message"], good["timeline"]
    events = [t["event"] for t in good["timeline"]]
    assert events.index("GatePassed") < events.index("StepStarted")
    assert load.summary(traffic)["failed"] == 0


@pytest.mark.integration
def test_a_gate_path_that_would_leave_the_service_is_invalid_and_changes_nothing(
        releases: Releases, operator: Any) -> None:
    name = "escape"
    body = release_manifest(name, "1.0.0", provider=PROVIDER,
                            gate={"requests": [{"path": "/../../other-ns/other-svc/80/admin"}]})
    releases.apply(body)
    status = wait_status(releases, name, lambda s: s.get("phase") == "InvalidSpec", 60, "InvalidSpec")
    assert "spec.gate.requests[0].path" in status["message"] and "leaves the canary Service" in status["message"]
    assert releases.apps.list_namespaced_deployment(releases.ns).items == [], "nothing was created"
