"""Pod-health gates from pod JSON."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ripcord.analysis.health import check_pod_health
from ripcord.api.models import PodHealthSpec

T0 = 1_800_000_000.0


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(name: str = "web-b-abc-x1", *, ready: bool = True, created: float = T0, ready_changed: float | None = None,
        restarts: int = 0, waiting: str | None = None, phase: str = "Running", deleting: bool = False,
        init_waiting: str | None = None, message: str = "") -> dict[str, Any]:
    state: dict[str, Any] = {"waiting": {"reason": waiting, "message": message}} if waiting else {"running": {}}
    p: dict[str, Any] = {
        "metadata": {"name": name, "creationTimestamp": iso(created)},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                            "lastTransitionTime": iso(ready_changed if ready_changed is not None else created)}],
            "containerStatuses": [{"name": "app", "ready": ready, "restartCount": restarts, "state": state,
                                   "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}} if restarts else {}}],
        },
    }
    if init_waiting:
        p["status"]["initContainerStatuses"] = [{"name": "init", "restartCount": 0,
                                                 "state": {"waiting": {"reason": init_waiting}}}]
    if deleting:
        p["metadata"]["deletionTimestamp"] = iso(created + 1)
    return p


SPEC = PodHealthSpec(ready_deadline="60s", max_restarts=1, crash_loop=True)


def check(pods, now=T0 + 10, spec=SPEC, rolled_out_at=T0):
    return check_pod_health(pods, spec, now=now, rolled_out_at=rolled_out_at)


def test_healthy_pods():
    assert check([pod(), pod("web-b-abc-x2")]) is None


def test_crash_loop_is_immediate():
    b = check([pod(ready=False, restarts=1, waiting="CrashLoopBackOff")])
    assert b is not None and b.gate == "CrashLoop" and b.pod == "web-b-abc-x1" and b.container == "app"
    assert "CrashLoopBackOff" in b.message and "Error" in b.message


def test_crash_loop_gate_can_be_off():
    spec = PodHealthSpec(ready_deadline="60s", max_restarts=5, crash_loop=False)
    assert check([pod(ready=False, restarts=1, waiting="CrashLoopBackOff")], spec=spec) is None


def test_crash_loop_in_init_container():
    b = check([pod(ready=False, init_waiting="CrashLoopBackOff")])
    assert b is not None and b.gate == "CrashLoop" and b.container == "init"


def test_restarts_above_max():
    assert check([pod(restarts=1)]) is None
    b = check([pod(restarts=2)])
    assert b is not None and b.gate == "Restarts" and b.value == 2 and b.bound == "maxRestarts 1"


def test_not_ready_within_deadline():
    assert check([pod(ready=False)], now=T0 + 59) is None
    b = check([pod(ready=False)], now=T0 + 61)
    assert b is not None and b.gate == "NotReady" and b.value == 61


def test_deadline_counts_from_the_later_of_rollout_and_creation():
    late = pod(ready=False, created=T0 + 100)
    assert check([late], now=T0 + 150) is None
    assert check([late], now=T0 + 161) is not None
    # a pod created before the rollout (adopted) counts from the rollout
    early = pod(ready=False, created=T0 - 1000, ready_changed=T0 - 1000)
    assert check([early], now=T0 + 30) is None


def test_pod_turning_unready_counts_from_the_transition():
    p = pod(ready=False, created=T0, ready_changed=T0 + 200)
    assert check([p], now=T0 + 230) is None
    assert check([p], now=T0 + 261).gate == "NotReady"


def test_image_pull_errors_wait_for_the_deadline_invalid_name_does_not():
    assert check([pod(ready=False, waiting="ErrImagePull")], now=T0 + 30) is None
    b = check([pod(ready=False, waiting="ImagePullBackOff", message="not found")], now=T0 + 61)
    assert b.gate == "ImagePull" and "not found" in b.message
    assert check([pod(ready=False, waiting="InvalidImageName")], now=T0 + 1).gate == "ImagePull"


def test_terminating_and_finished_pods_are_ignored():
    assert check([pod(ready=False, restarts=5, deleting=True)], now=T0 + 1000) is None
    assert check([pod(ready=False, phase="Failed")], now=T0 + 1000) is None


def test_pod_without_status_yet_is_judged_by_deadline():
    bare = {"metadata": {"name": "web-b-abc-x9", "creationTimestamp": iso(T0)}}
    assert check([bare], now=T0 + 30) is None
    assert check([bare], now=T0 + 61).gate == "NotReady"


def test_first_breach_in_gate_order_then_pod_name():
    pods = [pod("web-b-abc-z", ready=False), pod("web-b-abc-a", restarts=3),
            pod("web-b-abc-m", ready=False, waiting="CrashLoopBackOff", restarts=1)]
    assert check(pods, now=T0 + 100).gate == "CrashLoop"
    assert check(pods[:2], now=T0 + 100).pod == "web-b-abc-a"


def test_datetimes_are_accepted():
    from ripcord.analysis.health import evaluate
    now = dt.datetime.fromtimestamp(T0 + 61, dt.timezone.utc)
    start = dt.datetime.fromtimestamp(T0, dt.timezone.utc)
    assert evaluate([pod(ready=False)], SPEC, now=now, rolled_out_at=start).gate == "NotReady"


# ------------------------------------------------------------- canary_unhealthy_since (no exposure growth)

from ripcord.analysis.health import canary_unhealthy_since, restart_baseline  # noqa: E402


def test_healthy_canary_may_grow():
    pods = [pod("web-b-1-a"), pod("web-b-1-b", restarts=2)]
    base = restart_baseline(pods)
    assert base == {"web-b-1-a/app": 0, "web-b-1-b/app": 2}
    assert canary_unhealthy_since(pods, base) is None  # restarts before the step do not count
    assert canary_unhealthy_since(pods, base, expected_pods=2) is None


def test_a_restart_in_this_step_holds_even_within_max_restarts():
    """Issue 16: both canary pods crashed once (maxRestarts 1 tolerates it) and were Ready
    again six seconds later; the rollout still went from 25% to 50%."""
    base = restart_baseline([pod("web-b-1-a"), pod("web-b-1-b")])
    now = [pod("web-b-1-a", restarts=1), pod("web-b-1-b")]  # Ready again, one restart
    assert canary_unhealthy_since(now, base) == "pod web-b-1-a: container app restarted 1 time in this step"
    assert check_pod_health(now, SPEC, now=T0 + 10, rolled_out_at=T0) is None  # not a rollback (yet)
    twice = [pod("web-b-1-a", restarts=3), pod("web-b-1-b")]
    assert "restarted 3 times in this step" in (canary_unhealthy_since(twice, base) or "")


def test_not_ready_or_missing_pods_hold():
    base = restart_baseline([pod("web-b-1-a"), pod("web-b-1-b")])
    assert canary_unhealthy_since([pod("web-b-1-a"), pod("web-b-1-b", ready=False)], base) == \
        "pod web-b-1-b is not Ready"
    crashed = pod("web-b-1-b", ready=False, restarts=0, waiting="CrashLoopBackOff")
    assert canary_unhealthy_since([pod("web-b-1-a"), crashed], base) == "pod web-b-1-b is not Ready"
    # a pod being replaced: the deleted one is not judged, the missing one is counted
    assert canary_unhealthy_since([pod("web-b-1-a"), pod("web-b-1-b", deleting=True)], base, expected_pods=2) == \
        "1 of 2 canary pods are running"
    assert canary_unhealthy_since([], base, expected_pods=3) == "0 of 3 canary pods are running"


def test_a_pod_created_in_the_step_counts_its_restarts_from_zero():
    base = restart_baseline([pod("web-b-1-a")])
    assert canary_unhealthy_since([pod("web-b-1-a"), pod("web-b-1-new", restarts=1)], base) == \
        "pod web-b-1-new: container app restarted 1 time in this step"
    assert canary_unhealthy_since([pod("web-b-1-a", restarts=1)], None) is not None  # no baseline: all count
