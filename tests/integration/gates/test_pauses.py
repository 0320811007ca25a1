"""Pause steps and approval on the sandbox, driven the way people drive them: `kubectl ripcord`.

The phases show in `kubectl get releases` (the PHASE column reads status.phase) and in
`kubectl ripcord get`; `kubectl ripcord resume` ends a pause step, `promote` approves.
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.integration.analysis.conftest import wait_status
from tests.integration.cli.test_plugin import kubectl, ripcord
from tests.integration.support import Releases, release_manifest


def manifest(name: str, version: str, steps: list[Any], **spec: Any) -> dict[str, Any]:
    return release_manifest(name, version, steps=steps, analysis={"podHealth": {"readyDeadline": "30s"}}, **spec)


def phase(releases: Releases, name: str, want: str, timeout: float = 90) -> dict[str, Any]:
    return wait_status(releases, name, lambda s: s.get("phase") == want, timeout, f"phase {want}")


@pytest.mark.integration
def test_a_pause_step_waits_for_resume_a_timed_one_ends_by_itself_and_approval_waits_for_promote(
        sandbox: Any, releases: Releases, operator: Any) -> None:
    name = "paused"
    ns = releases.ns
    releases.apply(manifest(name, "1.0.0", [20, "pause", 50, "pause 3s"], requireApproval=True))
    releases.wait_phase(name, "Stable", timeout=90)
    releases.apply(manifest(name, "2.0.1", [20, "pause", 50, "pause 3s"], requireApproval=True))

    status = phase(releases, name, "Paused")
    assert status["rollout"]["weight"] == 20 and status["rollout"]["pause"]["afterStep"] == 0
    table = kubectl(sandbox, "get", "releases", "-n", ns, check=True).stdout
    assert "2.0.1 at 20% paused" in table, table
    wide = kubectl(sandbox, "get", "releases", "-n", ns, "-o", "wide", check=True).stdout
    assert " Paused " in wide, wide
    shown = ripcord(sandbox, ns, "get", name)
    assert shown.returncode == 0 and "Pause:       after step 1, until resumed" in shown.stdout, shown.stdout
    assert "20% ✓ › pause ◀ › 50% › pause 3s › approval › promote" in shown.stdout, shown.stdout
    releases.wait_event(name, "PauseStarted")

    assert ripcord(sandbox, ns, "resume", name).returncode == 0
    status = phase(releases, name, "AwaitingApproval", timeout=90)  # 50%, the timed pause, then approval
    assert status["rollout"]["weight"] == 50 and 1 in status["rollout"]["pausesDone"]
    events = [t["event"] for t in status["history"][0]["timeline"]]
    assert events.count("PauseStarted") == 2 and events.count("PauseEnded") == 2, events
    assert any("its 3s are over" in t["message"] for t in status["history"][0]["timeline"])
    table = kubectl(sandbox, "get", "releases", "-n", ns, check=True).stdout
    assert " needs approval" in table, table
    wide = kubectl(sandbox, "get", "releases", "-n", ns, "-o", "wide", check=True).stdout
    assert " AwaitingApproval " in wide, wide
    shown = ripcord(sandbox, ns, "get", name)
    assert f"approve with kubectl ripcord promote {name}" in shown.stdout, shown.stdout

    assert ripcord(sandbox, ns, "promote", name).returncode == 0
    releases.wait_outcome(name, "Promoted", rollout_id=status["rollout"]["id"], timeout=90)


@pytest.mark.integration
def test_a_negative_or_empty_pause_is_refused_with_the_field_named(releases: Releases, operator: Any) -> None:
    # Steps mix integers and strings, which the schema leaves to the operator (an
    # int-or-string schema costs the API server dearly on deep objects): InvalidSpec, nothing made.
    releases.apply(manifest("bad", "1.0.0", [20, "pause -5s", 50]))
    releases.apply(manifest("zero", "1.0.0", [20, "pause 0s", 50]))
    bad = wait_status(releases, "bad", lambda s: s.get("phase") == "InvalidSpec", 60, "InvalidSpec")
    assert "spec.steps" in bad["message"] and "'pause -5s' is neither a weight" in bad["message"], bad
    status = wait_status(releases, "zero", lambda s: s.get("phase") == "InvalidSpec", 60, "InvalidSpec")
    assert "spec.steps" in status["message"] and "a pause must last more than 0s" in status["message"]
    assert releases.apps.list_namespaced_deployment(releases.ns).items == []
