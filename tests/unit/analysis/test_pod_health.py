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


# ------------------------------------------------------------- what holds exposure (the engine compares)

from ripcord.analysis.health import restart_baseline, summarise  # noqa: E402


def test_restarts_are_counted_per_container_and_not_ready_pods_named() -> None:
    pods = [pod("web-b-1-a", restarts=2), pod("web-b-1-b", ready=False), pod("web-b-1-c", deleting=True)]
    assert restart_baseline(pods) == {"web-b-1-a/app": 2, "web-b-1-b/app": 0}
    s = summarise(pods, PodHealthSpec(), rolled_out_at=0)
    assert s.restarts == {"web-b-1-a/app": 2, "web-b-1-b/app": 0} and s.not_ready == ("web-b-1-b",)
    assert s.next_deadline is not None
