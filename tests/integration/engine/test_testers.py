"""Testers first: requests with the testers' header or cookie reach the canary at weight 0, while
everyone else stays on the stable (gateway-api: an HTTPRoute rule with header matches; istio: a
VirtualService route matched first), through the sandbox gateway, which honours the matches."""
from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox.gateway.client import GatewayClient, summarize
from tests.integration.support import Releases, release_manifest

TESTERS = [{"header": "x-canary", "value": "always"}, {"cookie": "canary", "value": "always"}]


@pytest.mark.integration
@pytest.mark.parametrize("provider", ["gateway-api", "istio"])
def test_testers_reach_the_canary_at_weight_zero(provider: str, releases: Releases, operator: Any,
                                                 namespace: str) -> None:
    name = "web"
    releases.apply(_manifest(name, "1.0.0", provider))
    releases.wait_phase(name, "Stable", timeout=90)
    gw = GatewayClient()
    target = {"route": name} if provider == "gateway-api" else {"host": name}
    loads = {"everyone": {}, "header": {"headers": {"X-Canary": "always"}},
             "cookie": {"headers": {"Cookie": "theme=dark; canary=always"}},
             "near-miss": {"headers": {"Cookie": "xcanary=always", "X-Canary": "sometimes"}}}
    names = {k: f"{namespace}-{k}" for k in loads}
    try:
        for key, extra in loads.items():
            gw.put_load(names[key], namespace, rps=10, paths=["/api/status"], **target, **extra)
        # the rollout is paused before its first step: the canary runs, at weight 0
        releases.apply(_manifest(name, "2.0.1", provider, paused=True))
        status = releases.wait_phase(name, "Paused", timeout=60)
        assert status["weight"] == 0
        start = int(time.time()) + 1  # rows are per second: from the next whole one

        def after(key: str, need: int) -> dict[str, Any]:
            rows = gw.wait_rows(names[key], lambda rows: summarize([r for r in rows if r["t"] >= start])
                                ["by_version"].get("2.0.1" if key in ("header", "cookie") else "1.0.0", 0) >= need,
                                timeout_s=60)
            return summarize([r for r in rows if r["t"] >= start])

        for key in ("header", "cookie"):
            # once the canary's pods are ready, every tester request is answered by it
            first = after(key, 10)
            ready_from = min(r["t"] for r in gw.record(names[key]) if r["t"] >= start
                             and r["by_version"].get("2.0.1"))
            rows = gw.wait_rows(names[key], lambda rows: sum(r["total"] for r in rows if r["t"] > ready_from) >= 30,
                                timeout_s=30)
            seen = summarize([r for r in rows if r["t"] > ready_from])
            assert seen["by_version"] == {"2.0.1": seen["total"]}, (key, seen, first)
        for key in ("everyone", "near-miss"):
            seen = after(key, 30)
            assert seen["by_version"] == {"1.0.0": seen["total"]}, (key, seen)
        assert releases.status(name)["weight"] == 0
    finally:
        for load in names.values():
            gw.delete_load(load)


def _manifest(name: str, version: str, provider: str, **spec: Any) -> dict[str, Any]:
    body = release_manifest(name, version, provider=provider, **spec)
    body["spec"]["traffic"]["testers"] = TESTERS
    return body
