"""GitOps health of captured Release objects: Flux (kstatus) and Argo CD (health.lua).

The objects are the ones the integration runs captured on the sandbox (``capture()`` in
tests/integration/support.py), so these tests check what the operator really writes.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.gitops import argo_lua, kstatus
from tests.unit.gitops.captures import CAPTURE_DIR, EXPECTED, REQUIRED, category, load_all

CAPTURED = load_all()
IDS = sorted(CAPTURED)


def test_every_required_state_was_captured() -> None:
    have = {category(label) for label in CAPTURED}
    missing = [c for c in REQUIRED if c not in have]
    assert not missing, (f"no captured Release for {missing} in {CAPTURE_DIR}; refresh with "
                         "RIPCORD_CAPTURE=1 python -m pytest tests/integration")


def test_every_suspended_kind_was_captured() -> None:
    """Suspended has two causes (a pause, a hold without verdict); at least one is captured."""
    assert {"paused", "holding"} & {category(label) for label in CAPTURED}


def test_captures_are_live_objects_with_status() -> None:
    for label, obj in CAPTURED.items():
        assert obj["kind"] == "Release" and obj["apiVersion"].startswith("ripcord.dev/"), label
        assert "status" in obj and "generation" in obj["metadata"], label


@pytest.mark.parametrize("label", IDS)
def test_kstatus_of_captured_release(label: str) -> None:
    want, _ = EXPECTED[category(label)]
    got = kstatus.compute(CAPTURED[label])
    assert got.status == want, f"{label}: kstatus {got.status} ({got.reason}: {got.message}), want {want}"


@pytest.mark.parametrize("label", IDS)
def test_kstatus_does_not_depend_on_the_ready_rule(label: str) -> None:
    """Same answer with and without kstatus' Ready step: Reconciling/Stalled decide alone."""
    obj = CAPTURED[label]
    assert kstatus.compute(obj, ready_rule=False).status == kstatus.compute(obj).status


@pytest.mark.parametrize("label", IDS)
def test_argo_cd_health_of_captured_release(label: str) -> None:
    _, want = EXPECTED[category(label)]
    got = argo_lua.health(CAPTURED[label])
    assert got.status == want, f"{label}: Argo CD {got.status} ({got.message}), want {want}"
    assert got.message, f"{label}: Argo CD shows the message to users; it must not be empty"


def _any(prefix: str) -> dict[str, Any]:
    label = next((lbl for lbl in IDS if category(lbl) == prefix), None)
    if label is None:
        pytest.fail(f"no captured {prefix} Release")
    return copy.deepcopy(CAPTURED[label])


def test_unobserved_generation_is_in_progress_even_when_the_old_status_says_ready() -> None:
    """A spec just synced by Flux or Argo CD: the Ready=True of the previous one must not pass the wait."""
    obj = _any("promoted")
    obj["metadata"]["generation"] += 1
    assert kstatus.compute(obj).status == "InProgress"
    assert kstatus.compute(obj).reason == "LatestGenerationNotObserved"
    assert argo_lua.health(obj).status == "Progressing"


def test_unobserved_generation_hides_an_old_failure() -> None:
    """A fix applied after a rollback is not reported Failed for the old version's stall."""
    obj = _any("rolled-back")
    obj["metadata"]["generation"] += 1
    assert kstatus.compute(obj).status == "InProgress"
    assert argo_lua.health(obj).status == "Progressing"


def test_new_release_with_the_crd_default_status_is_in_progress() -> None:
    """The CRD defaults status.observedGeneration to -1, so a Release no operator has seen is not Current."""
    obj = _any("promoted")
    obj["status"] = {"observedGeneration": -1}
    assert kstatus.compute(obj).status == "InProgress"
    assert argo_lua.health(obj).status == "Progressing"


def test_release_without_status_reads_current_in_kstatus_but_progressing_in_argo() -> None:
    """Documents why the CRD default matters: with no status at all kstatus falls through to Current."""
    obj = _any("promoted")
    del obj["status"]
    assert kstatus.compute(obj).status == "Current"
    assert argo_lua.health(obj).status == "Progressing"


def test_deleting_release_is_terminating() -> None:
    obj = _any("promoted")
    obj["metadata"]["deletionTimestamp"] = "2026-01-29T14:35:00Z"
    assert kstatus.compute(obj).status == "Terminating"


def test_lua_runs_without_os_io_or_require() -> None:
    script = "return {status = os.time() and 'Healthy' or 'Unknown', message = 'x'}"
    with pytest.raises(Exception):
        argo_lua.health(_any("promoted"), script=script)


@pytest.mark.parametrize("reason,want", [("PauseStep", "Suspended"), ("AwaitingApproval", "Suspended"),
                                         ("AwaitingConfirmation", "Progressing"),
                                         ("WebhookUnreachable", "Progressing")])
def test_pause_steps_and_approval_wait_on_a_person(reason: str, want: str) -> None:
    obj = copy.deepcopy(next(o for label, o in CAPTURED.items() if category(label) == "paused"))
    for c in obj["status"]["conditions"]:
        if c["type"] == "Reconciling":
            c["reason"] = reason
    assert argo_lua.health(obj).status == want
    assert kstatus.compute(obj).status == "InProgress", "kstatus: still reconciling, whoever it waits on"
