"""Pod-health gates of the canary: pure, from pods as the API returns them (JSON dicts).

These gates need no Prometheus, so they keep acting while metrics are unavailable: a
crash-looping canary is rolled back at once even during a Prometheus outage.

Gates, checked in this order (the first breach found is returned, pods by name):

* ``CrashLoop``: a container waiting in ``CrashLoopBackOff`` (when ``crashLoop`` is on);
* ``Restarts``: a container restarted more than ``maxRestarts`` times;
* ``ImagePull``: ``InvalidImageName`` at once (it can never succeed); ``ErrImagePull`` /
  ``ImagePullBackOff`` once the ready deadline has passed (a registry blip recovers);
* ``NotReady``: a pod not Ready for longer than ``readyDeadline``, counted from the
  latest of: the canary's rollout, the pod's creation, its Ready condition turning False
  (so a pod created later, e.g. at promotion, gets its own full deadline).

Pods being deleted, and pods that finished (``Succeeded``/``Failed``, e.g. evicted; their
Deployment replaces them), are not judged.

Apart from the gates, :func:`summarise` gives what the engine needs to hold exposure while the
canary is unhealthy *within the current step* (restarts per container against the step's
baseline, :func:`restart_baseline`; pods not Ready): not a reason to roll back, a reason
never to give it more traffic.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable, Literal, Mapping, Optional

from ..api.models import PodHealthSpec, parse_duration

Gate = Literal["CrashLoop", "Restarts", "ImagePull", "NotReady"]

_PULL_WAITING = {"ErrImagePull", "ImagePullBackOff"}
_PULL_FATAL = {"InvalidImageName"}


@dataclasses.dataclass(frozen=True)
class HealthBreach:
    gate: Gate
    pod: str
    container: Optional[str]
    value: float  # restarts, or seconds not ready
    bound: str  # e.g. "maxRestarts 1", "readyDeadline 600s"
    message: str


def _time(text: Any) -> Optional[float]:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _containers(pod: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    status = pod.get("status") or {}
    yield from status.get("initContainerStatuses") or []
    yield from status.get("containerStatuses") or []


def _waiting_reason(cs: Mapping[str, Any]) -> str:
    return ((cs.get("state") or {}).get("waiting") or {}).get("reason") or ""


def _ready_condition(pod: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            return cond
    return None


def _live(pods: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Pods that are judged (not being deleted, not finished), by name."""
    live = [p for p in pods
            if not (p.get("metadata") or {}).get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    return sorted(live, key=lambda p: (p.get("metadata") or {}).get("name", ""))


def _seconds(t: float | dt.datetime) -> float:
    return t.timestamp() if isinstance(t, dt.datetime) else float(t)


def check_pod_health(pods: Iterable[Mapping[str, Any]], spec: PodHealthSpec, *, now: float | dt.datetime,
                     rolled_out_at: float | dt.datetime) -> Optional[HealthBreach]:
    """The first breach among the canary's pods, or None when all gates hold.

    ``now`` and ``rolled_out_at`` are unix seconds or aware datetimes.
    """
    now = _seconds(now)
    rolled_out_at = _seconds(rolled_out_at)
    deadline = parse_duration(spec.ready_deadline)
    live = _live(pods)

    for pod in live:
        name = (pod.get("metadata") or {}).get("name", "?")
        for cs in _containers(pod):
            container = cs.get("name")
            if spec.crash_loop and _waiting_reason(cs) == "CrashLoopBackOff":
                restarts = float(cs.get("restartCount") or 0)
                last = ((cs.get("lastState") or {}).get("terminated") or {})
                why = f" (last exit: {last.get('reason') or 'code ' + str(last.get('exitCode'))})" if last else ""
                return HealthBreach("CrashLoop", name, container, restarts, "crashLoop",
                                    f"pod {name}: container {container} is in CrashLoopBackOff after "
                                    f"{restarts:.0f} restarts{why}")
    for pod in live:
        name = (pod.get("metadata") or {}).get("name", "?")
        for cs in _containers(pod):
            restarts = int(cs.get("restartCount") or 0)
            if restarts > spec.max_restarts:
                return HealthBreach("Restarts", name, cs.get("name"), float(restarts), f"maxRestarts {spec.max_restarts}",
                                    f"pod {name}: container {cs.get('name')} restarted {restarts} times "
                                    f"(maxRestarts {spec.max_restarts})")

    for pod in live:
        meta = pod.get("metadata") or {}
        name = meta.get("name", "?")
        ready = _ready_condition(pod)
        if ready is not None and ready.get("status") == "True":
            continue
        since = max(t for t in (rolled_out_at, _time(meta.get("creationTimestamp")),
                                _time((ready or {}).get("lastTransitionTime"))) if t is not None)
        waited = max(0.0, now - since)
        for cs in _containers(pod):
            reason = _waiting_reason(cs)
            if reason in _PULL_FATAL or (reason in _PULL_WAITING and waited > deadline):
                msg = ((cs.get("state") or {}).get("waiting") or {}).get("message") or ""
                return HealthBreach("ImagePull", name, cs.get("name"), waited, f"readyDeadline {deadline:g}s",
                                    f"pod {name}: container {cs.get('name')} cannot pull its image ({reason}"
                                    f"{': ' + msg if msg else ''}) for {waited:.0f}s")
        if waited > deadline:
            return HealthBreach("NotReady", name, None, waited, f"readyDeadline {deadline:g}s",
                                f"pod {name} not ready for {waited:.0f}s (readyDeadline {deadline:g}s)")
    return None


#: The name the operator's observer calls.
evaluate = check_pod_health


# ------------------------------------------------------------- exposure never grows while unhealthy

def _container_key(pod: Mapping[str, Any], cs: Mapping[str, Any]) -> str:
    return f"{(pod.get('metadata') or {}).get('name', '?')}/{cs.get('name', '?')}"


def restart_baseline(pods: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Restart counts per container (``"<pod>/<container>"``, JSON-friendly for status),
    the engine keeps them when a step starts and counts restarts from them."""
    return {_container_key(p, cs): int(cs.get("restartCount") or 0) for p in _live(pods) for cs in _containers(p)}


@dataclasses.dataclass(frozen=True)
class HealthSummary:
    """What holds exposure back without failing the canary: restarts so far, pods not Ready now."""

    restarts: dict[str, int]  # restart count per live container, "<pod>/<container>"
    not_ready: tuple[str, ...]  # live pods not Ready, by name
    next_deadline: Optional[float]  # unix time just after the first not-ready pod breaches readyDeadline


def summarise(pods: Iterable[Mapping[str, Any]], spec: PodHealthSpec, *,
              rolled_out_at: float | dt.datetime) -> HealthSummary:
    rolled_out_at = _seconds(rolled_out_at)
    deadline = parse_duration(spec.ready_deadline)
    live = _live(pods)
    not_ready: list[str] = []
    deadlines: list[float] = []
    for pod in live:
        meta = pod.get("metadata") or {}
        ready = _ready_condition(pod)
        if ready is not None and ready.get("status") == "True":
            continue
        not_ready.append(meta.get("name", "?"))
        since = max(t for t in (rolled_out_at, _time(meta.get("creationTimestamp")),
                                _time((ready or {}).get("lastTransitionTime"))) if t is not None)
        deadlines.append(since + deadline + 0.05)  # the gate breaches once the deadline is *exceeded*
    return HealthSummary(restart_baseline(live), tuple(sorted(not_ready)), min(deadlines) if deadlines else None)
