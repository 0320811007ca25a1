"""Gating webhooks on the sandbox, each type against a real HTTP receiver, driven by real rollouts.

The operator's configuration allows exactly the receiver's address; the answers are scripted
per path (tests/webhook_receiver.py) and changed while the rollout waits on them.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from tests.integration.analysis.conftest import Load, entry, wait_status
from tests.integration.support import Releases, release_manifest, wait_for
from tests.webhook_receiver import Receiver

PROVIDER = "gateway-api"
FAST = {"interval": "1s", "timeout": "2s"}


def hooks(rx: Receiver, *types: str, **over: Any) -> list[dict[str, Any]]:
    return [{"name": t, "type": t, "url": f"{rx.url}/{t}", **FAST, **over} for t in types]


def manifest(name: str, version: str, webhooks: list[dict[str, Any]]) -> dict[str, Any]:
    return release_manifest(name, version, provider=PROVIDER, steps=[20, 50], webhooks=webhooks,
                            analysis={"podHealth": {"readyDeadline": "30s"}})


def answer(rx: Receiver, path: str, code: int) -> None:
    with rx.lock:
        rx.script[f"/{path}"] = [code]


def posts(rx: Receiver, path: str) -> list[dict[str, Any]]:
    with rx.lock:
        return [r["json"] for r in rx.requests if r["path"] == f"/{path}"]


def canary_replicas(releases: Releases, name: str) -> int:
    """The canary slot's Deployment's replicas (0 when it does not exist yet)."""
    found = [d for d in releases.apps.list_namespaced_deployment(releases.ns).items if d.metadata.name == f"{name}-b"]
    return int(found[0].spec.replicas or 0) if found else 0


def phase_with(releases: Releases, name: str, phase: str, words: str, timeout: float = 60) -> dict[str, Any]:
    return wait_status(releases, name, lambda s: s.get("phase") == phase and words in (s.get("message") or ""),
                       timeout, f"phase {phase} saying {words!r}")


@pytest.mark.integration
def test_confirm_hooks_hold_load_tests_start_and_post_rollout_is_told(
        releases: Releases, operator_factory: Callable[..., Any], rx: Receiver, load: Load) -> None:
    operator_factory(webhooks=[rx.url + "/"])
    types = ("confirm-rollout", "pre-rollout", "confirm-traffic-increase", "confirm-promotion", "load-test",
             "rollback", "post-rollout")
    for t, code in (("confirm-rollout", 403), ("confirm-traffic-increase", 409), ("confirm-promotion", 423),
                    ("rollback", 404)):
        answer(rx, t, code)
    name = "hooked"
    releases.apply(manifest(name, "1.0.0", hooks(rx, *types)))
    releases.wait_phase(name, "Stable", timeout=90)
    traffic = load.start(name, rps=20, provider=PROVIDER)
    releases.apply(manifest(name, "2.0.1", hooks(rx, *types)))

    # confirm-rollout: held before the canary is scaled up
    phase_with(releases, name, "Waiting", "confirm-rollout webhook confirm-rollout")
    wait_for(lambda: len(posts(rx, "confirm-rollout")) >= 2, 30, "confirm-rollout asked again")
    assert canary_replicas(releases, name) == 0 and posts(rx, "pre-rollout") == []
    answer(rx, "confirm-rollout", 200)

    # pre-rollout once the canary is Ready, then confirm-traffic-increase holds the first weight
    status = phase_with(releases, name, "Waiting", "confirm-traffic-increase webhook", timeout=90)
    assert status["rollout"]["weight"] == 0 and canary_replicas(releases, name) > 0
    [pre] = posts(rx, "pre-rollout")
    assert (pre["phase"], pre["name"], pre["namespace"], pre["version"]) == \
        ("pre-rollout", name, releases.ns, "2.0.1")
    assert pre["canary"]["service"] == f"{name}-b" and "/proxy/" in pre["canary"]["url"]
    answer(rx, "confirm-traffic-increase", 200)

    # each step asks its load test and its traffic increase; promotion waits for confirm-promotion
    phase_with(releases, name, "Waiting", "confirm-promotion webhook", timeout=120)
    assert [p["key"] for p in posts(rx, "load-test")] == ["load-test/1", "load-test/2"]
    assert {p["key"] for p in posts(rx, "confirm-traffic-increase")} == \
        {"confirm-traffic-increase/1", "confirm-traffic-increase/2"}
    answer(rx, "confirm-promotion", 200)
    rid = releases.status(name)["rollout"]["id"]
    status = releases.wait_outcome(name, "Promoted", rollout_id=rid, timeout=120)

    wait_for(lambda: posts(rx, "post-rollout"), 30, "the post-rollout call")
    [post] = posts(rx, "post-rollout")
    assert (post["outcome"], post["rolloutId"], post["version"]) == ("Promoted", rid, "2.0.1")
    assert len(posts(rx, "rollback")) >= 3, "the rollback hook is polled while the rollout runs"
    status = wait_status(releases, name, lambda s: any(
        t["event"] == "WebhookPassed" and "post-rollout" in t["message"] for t in entry(s, rid)["timeline"]),
        30, "the post-rollout outcome in the history")
    passed = {t["message"].split(" webhook ")[0] for t in entry(status, rid)["timeline"]
              if t["event"] == "WebhookPassed"}
    assert passed >= {"confirm-rollout", "pre-rollout", "confirm-traffic-increase", "confirm-promotion",
                      "load-test", "post-rollout"}, passed
    assert load.summary(traffic)["failed"] == 0


@pytest.mark.integration
def test_failing_pre_rollout_and_a_rollback_hook_roll_back_and_a_hook_outside_the_allowlist_is_invalid(
        releases: Releases, operator_factory: Callable[..., Any], rx: Receiver, load: Load) -> None:
    operator_factory(webhooks=[rx.url + "/"])
    name = "vetoed"
    pre = hooks(rx, "pre-rollout", retries=1)
    answer(rx, "pre-rollout", 500)
    releases.apply(manifest(name, "1.0.0", pre))
    releases.wait_phase(name, "Stable", timeout=90)
    traffic = load.start(name, rps=20, provider=PROVIDER)

    releases.apply(manifest(name, "2.0.1", pre))
    status = releases.wait_outcome(name, "RolledBack", timeout=120)
    first = next(h for h in status["history"] if h["outcome"] == "RolledBack")
    assert first["reason"]["kind"] == "Webhook" and first["weightReached"] == 0
    assert first["reason"]["message"] == "pre-rollout webhook pre-rollout failed after 2 attempts: answered 500"
    assert len(posts(rx, "pre-rollout")) == 2
    assert "2.0.1" not in load.summary(traffic)["by_version"]

    # a rollback hook that answers 2xx mid-rollout rolls back
    answer(rx, "rollback", 404)
    rb = hooks(rx, "rollback", "post-rollout")
    releases.apply(manifest(name, "2.0.2", rb))
    wait_status(releases, name, lambda s: (s.get("rollout") or {}).get("weight") == 20, 120, "the first step")
    answer(rx, "rollback", 200)
    status = releases.wait_outcome(name, "RolledBack", rollout_id=first["id"] + 1, timeout=60)
    second = entry(status, first["id"] + 1)
    assert second["reason"]["message"] == "rollback webhook rollback asked for it (answered 200)"
    wait_for(lambda: posts(rx, "post-rollout"), 30, "the post-rollout call after the rollback")
    assert posts(rx, "post-rollout")[0]["outcome"] == "RolledBack"

    # outside the allowlist: InvalidSpec naming the field, nothing changes
    before = {d.metadata.name: d.spec.replicas for d in releases.apps.list_namespaced_deployment(releases.ns).items}
    releases.apply(manifest(name, "2.0.3", [{"name": "elsewhere", "type": "pre-rollout",
                                             "url": "http://127.0.0.1:9/admin"}]))
    status = wait_status(releases, name, lambda s: s.get("phase") == "InvalidSpec", 60, "InvalidSpec")
    assert status["message"].startswith("spec.webhooks[elsewhere].url: webhook URL 'http://127.0.0.1:9/admin' "
                                         "is not allowed"), status["message"]
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["reason"] == "InvalidSpec"
    releases.wait_event(name, "InvalidSpec")
    after = {d.metadata.name: d.spec.replicas for d in releases.apps.list_namespaced_deployment(releases.ns).items}
    assert after == before and (status.get("rollout") is None)
