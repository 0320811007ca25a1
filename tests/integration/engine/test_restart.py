"""The operator SIGKILLed right after each status write and after each cluster action resumes exactly.

One run per crash point: a faulty operator (``RIPCORD_FAULT=<kind>:<n>``) dies at that
point of a rollout; a fresh one takes over. The outcome must be the same as without a
crash: one history entry for the rollout, every step started once, promoted.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from tests.integration.support import OperatorProcess, Releases, release_manifest, wait_for

POINTS = [f"status:{n}" for n in range(1, 7)] + [f"action:{n}" for n in range(1, 5)]


@pytest.mark.integration
@pytest.mark.parametrize("point", POINTS)
def test_operator_killed_at_a_fixed_point_resumes(point: str, releases: Releases,
                                                  operator_factory: Callable[..., OperatorProcess]) -> None:
    name = "crash"
    first = operator_factory()
    releases.apply(release_manifest(name, "1.0.0", steps=[20, 50]))
    releases.wait_phase(name, "Stable", timeout=90)
    first.stop()

    faulty = operator_factory(RIPCORD_FAULT=point)
    releases.apply(release_manifest(name, "2.0.1", steps=[20, 50]))
    wait_for(lambda: faulty.exited() is not None or _promoted(releases, name), 120, f"the crash at {point}")
    crashed = faulty.exited() == 137
    faulty.stop()

    operator_factory()
    status = releases.wait_outcome(name, "Promoted", rollout_id=2, timeout=120)
    entries = [h for h in status["history"] if h["id"] == 2]
    assert len(entries) == 1, "one history entry per rollout"
    assert [h["id"] for h in status["history"]] == [2, 1]
    steps = [t["message"] for t in entries[0]["timeline"] if t["event"] == "StepStarted"]
    assert steps == ["step 1: canary weight 20%", "step 2: canary weight 50%"], steps
    assert [t["event"] for t in entries[0]["timeline"]].count("Switched") == 1
    assert status["stable"]["version"] == "2.0.1"
    assert crashed, f"the operator never reached {point}: the crash point tests nothing"


def _promoted(releases: Releases, name: str) -> bool:
    return any(h["id"] == 2 and h["outcome"] == "Promoted" for h in releases.status(name).get("history") or [])
