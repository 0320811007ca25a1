"""Supersede, manual abort / promote / retry with nonces, and a stale abort that must not act."""
from __future__ import annotations

from typing import Any

import pytest

from tests.integration.support import Releases, capture, release_manifest, wait_for

SLOW = {"stepDuration": "600s"}  # steps never advance on their own in these tests


def _rollout_id(releases: Releases, name: str) -> int:
    return int(wait_for(lambda: (releases.status(name).get("rollout") or {}).get("id"), 60, "a rollout"))


@pytest.mark.integration
def test_template_change_mid_rollout_supersedes(releases: Releases, operator: Any) -> None:
    name = "sup"
    releases.apply(release_manifest(name, "1.0.0", analysis=SLOW))
    releases.wait_phase(name, "Stable", timeout=90)
    releases.apply(release_manifest(name, "2.0.1", analysis=SLOW))
    first = _rollout_id(releases, name)
    releases.wait_phase(name, "Progressing", timeout=60)
    releases.apply(release_manifest(name, "2.0.2", env={"LATENCY_MS": "1"}, analysis=SLOW))
    status = wait_for(lambda: (s := releases.status(name)).get("rollout", {}).get("id", 0) > first and s,
                      60, "a new rollout")
    old = next(h for h in status["history"] if h["id"] == first)
    assert old["outcome"] == "Superseded"
    assert status["canary"]["version"] == "2.0.2"


@pytest.mark.integration
def test_abort_promote_retry_and_a_stale_abort(releases: Releases, operator: Any) -> None:
    name = "manual"
    releases.apply(release_manifest(name, "1.0.0", analysis=SLOW))
    releases.wait_phase(name, "Stable", timeout=90)

    # abort: rolled back, and stays rolled back
    releases.apply(release_manifest(name, "2.0.1", analysis=SLOW))
    rid = _rollout_id(releases, name)
    releases.wait_phase(name, "Progressing", timeout=60)
    capture("progressing-paused-candidate", releases.get(name))
    releases.annotate(name, "ripcord.dev/abort", f"{rid}/n1")
    status = releases.wait_outcome(name, "Aborted", rollout_id=rid, timeout=60)
    assert status["acknowledged"]["abort"] == f"{rid}/n1"
    assert status["stable"]["version"] == "1.0.0"
    releases.wait_phase(name, "Aborted", timeout=30)

    # retry: the same template rolls out again, as a new rollout
    releases.annotate(name, "ripcord.dev/retry", f"{rid}/n2")
    retried = wait_for(lambda: (s := releases.status(name)).get("rollout", {}).get("id", 0) > rid and s,
                       60, "the retried rollout")
    new_id = retried["rollout"]["id"]

    # the old abort annotation (same value) is already acknowledged: nothing happens;
    # a new abort naming the old rollout id is stale and must not touch this rollout
    releases.annotate(name, "ripcord.dev/abort", f"{rid}/n3")
    wait_for(lambda: releases.status(name)["acknowledged"]["abort"] == f"{rid}/n3", 30, "stale abort acknowledged")
    assert releases.status(name)["rollout"]["id"] == new_id
    releases.wait_event(name, "StaleRequest")

    # pause, then promote by hand
    releases.annotate(name, "ripcord.dev/pause", f"{new_id}/n4")
    paused = releases.wait_phase(name, "Paused", timeout=60)
    capture("paused", releases.get(name))
    assert paused["rollout"]["paused"] is True
    releases.annotate(name, "ripcord.dev/promote", f"{new_id}/n5")
    status = releases.wait_outcome(name, "Promoted", rollout_id=new_id, timeout=90)
    assert status["stable"]["version"] == "2.0.1"
