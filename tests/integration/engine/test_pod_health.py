"""Pod-health gates roll back at once, naming the gate; the Deployment's 600 s progress deadline is not waited for."""
from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.support import Releases, capture, release_manifest


@pytest.mark.integration
@pytest.mark.parametrize("case,env,gate", [
    ("crash-loop", {"CRASH_AFTER_S": "1"}, {"CrashLoop", "Restarts"}),
    ("never-ready", {"READY_FAIL": "1"}, {"NotReady"}),
])
def test_unhealthy_version_is_rolled_back_within_90s(case: str, env: dict[str, str], gate: set[str],
                                                     releases: Releases, operator: Any) -> None:
    name = "health"
    releases.apply(release_manifest(name, "1.0.0", analysis={"podHealth": {"readyDeadline": "30s"}}))
    releases.wait_phase(name, "Stable", timeout=90)
    bad = release_manifest(name, "2.0.0-" + case, env=env, analysis={"podHealth": {"readyDeadline": "30s"}})
    bad["spec"]["template"]["spec"]["progressDeadlineSeconds"] = 600  # ignored by pods; documents intent
    bad["spec"]["template"]["spec"].pop("progressDeadlineSeconds")
    started = time.monotonic()
    releases.apply(bad)
    status = releases.wait_outcome(name, "RolledBack", rollout_id=2, timeout=90)
    took = time.monotonic() - started
    capture(f"rolled-back-{case}", releases.get(name))
    entry = next(h for h in status["history"] if h["id"] == 2)
    assert entry["reason"]["kind"] == "PodHealth"
    assert entry["reason"]["metric"] in gate, entry["reason"]
    assert status["stable"]["version"] == "1.0.0"
    assert status["phase"] == "RolledBack"
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "True"
    print(f"{case}: rolled back {took:.1f}s after the apply ({entry['reason']['message']})")
