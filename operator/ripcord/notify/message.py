"""What a notification says: the engine's note and the status it was recorded in, as facts.

Pure: ``build_message`` reads the engine's ``Notification`` (event, rollout id, message)
and the status it was recorded in (the rollout's history entry: version, outcome, reason
with metric/value/bound/weight, timeline) and returns a :class:`Message`. The payload
modules (``payloads``, ``pagerduty``, ``msteams``) shape a Message for one kind of receiver.
Numbers are worded by :mod:`ripcord.api.wording`, the same voice as the plugin's.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Mapping, Optional

from ripcord.api import wording

TITLES = {
    "rollback": "rolled back", "promotion": "promoted", "stall": "is stalled",
    "pre-rollout": "rollout started", "post-rollout": "rollout finished",
}
TIMELINE_IN_PAYLOAD = 20
#: Outcomes of a rollout that did not ship: an incident a later promotion resolves.
NOT_SHIPPED = ("RolledBack", "Aborted", "Failed")



@dataclasses.dataclass(frozen=True)
class Note:
    """A notification as the status outbox records it: what happened to which rollout, and its key."""

    event: str
    rollout_id: int
    message: str
    key: str = ""


@dataclasses.dataclass(frozen=True)
class Reason:
    kind: str
    message: str
    metric: Optional[str] = None
    value: Optional[float] = None
    bound: Optional[str] = None
    weight: Optional[int] = None
    at: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Message:
    """Everything a receiver is told about one notification."""

    event: str
    key: str
    namespace: str
    release: str
    rollout_id: int
    version: str
    stable_version: Optional[str]
    outcome: Optional[str]
    message: str
    reason: Optional[Reason]
    weight_reached: Optional[int]
    started_at: Optional[str]
    ended_at: Optional[str]
    timeline: tuple[Mapping[str, Any], ...]
    at: str
    summary: str
    uid: str = ""
    #: The reason in words, units included (``error-rate = 20% breached <= 2%``); "" without one.
    reason_text: str = ""
    #: The metric's value and bound in their unit, for receivers that show fields.
    value_text: str = ""
    bound_text: str = ""
    #: On ``promotion``: the rollouts of this Release that did not ship (rolled back, aborted)
    #: or were held without a verdict since the previous promotion. The Release is healthy
    #: again, so a pager resolves their incidents.
    recovers: tuple[int, ...] = ()


def idempotency_key(namespace: str, name: str, uid: str, rollout_id: int, event: str) -> str:
    """Stable across retries and restarts; the uid tells apart a Release deleted and recreated."""
    return f"{namespace}/{name}/{uid or '-'}/{rollout_id}/{event}"


def field(obj: Any, name: str, alias: Optional[str] = None) -> Any:
    """A field of a pydantic model or of its wire dict."""
    if isinstance(obj, Mapping):
        return obj.get(alias or name, obj.get(name))
    return getattr(obj, name, None)


def metric_type(spec: Any, metric: Optional[str]) -> Optional[str]:
    """``spec.analysis.metrics[name].type`` (None for pod-health gates and unknown metrics)."""
    if not metric:
        return None
    analysis = field(spec, "analysis")
    metrics = (field(analysis, "metrics") if analysis is not None else None) or []
    for m in metrics:
        if field(m, "name") == metric:
            return str(field(m, "type") or "error-rate")
    return None


def reason_words(reason: Optional[Reason], kind: Optional[str]) -> str:
    """``error-rate = 20% breached <= 2%`` for a metric, else the recorded message."""
    if reason is None:
        return ""
    if reason.metric and reason.value is not None:
        return wording.breach(reason.metric, reason.value, reason.bound, kind)
    return reason.message


def _summary(event: str, release: str, namespace: str, version: str, stable: Optional[str],
             reason: Optional[Reason], why: str, weight: Optional[int], seconds: Optional[float], note: str) -> str:
    head = f"{release} ({namespace}): {version} {TITLES.get(event, event)}"
    parts = [head]
    if event == "rollback" and reason is not None:
        at = wording.at_weight(reason.weight)
        after = f" after {wording.duration(seconds)}" if seconds is not None else ""
        parts.append(f"{reason.kind}{at}{after}: {why}")
    elif note:
        parts.append(note)
    elif weight is not None:
        parts.append(f"reached {wording.percent(weight)}")
    if stable and event in ("rollback", "stall"):
        parts.append(f"{stable} serves the traffic")
    return ". ".join(parts) + "."


def _seconds(a: Optional[str], b: Optional[str]) -> Optional[float]:
    try:
        if not a or not b:
            return None
        ta = dt.datetime.fromisoformat(a.replace("Z", "+00:00"))
        tb = dt.datetime.fromisoformat(b.replace("Z", "+00:00"))
        return max(0.0, (tb - ta).total_seconds())
    except ValueError:
        return None


def recovered_rollouts(history: Any, promoted_id: int) -> tuple[int, ...]:
    """Rollouts a promotion of ``promoted_id`` recovers from, newest first.

    Walks ``status.history`` (newest first) from the promoted rollout back to the previous
    promotion: every rollout on the way that did not ship counts, and so does the promoted
    rollout itself if it was held without a verdict (a ``stall``) before someone promoted it.
    """
    out: list[int] = []
    seen = False
    for h in history or []:
        if not isinstance(h, Mapping) or not isinstance(h.get("id"), int):
            continue
        if h["id"] == promoted_id:
            seen = True
            if any(isinstance(t, Mapping) and t.get("event") == "NoVerdict" for t in h.get("timeline") or []):
                out.append(h["id"])
            continue
        if not seen or h["id"] > promoted_id:
            continue
        if h.get("outcome") == "Promoted":
            break
        if h.get("outcome") in NOT_SHIPPED or any(isinstance(t, Mapping) and t.get("event") == "NoVerdict"
                                                  for t in h.get("timeline") or []):
            out.append(h["id"])
    return tuple(out)


def build_message(body: Mapping[str, Any], spec: Any, note: Any, status: Mapping[str, Any],
                  now: Optional[dt.datetime] = None) -> Message:
    """The message for the engine's ``note`` (event, rollout_id, message) as ``status`` records it."""
    meta = body.get("metadata") or {}
    namespace, name, uid = meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", "")
    event, rid, text = str(field(note, "event")), int(field(note, "rollout_id", "rolloutId")), \
        str(field(note, "message") or "")
    entry: Mapping[str, Any] = next((h for h in status.get("history") or []
                                     if isinstance(h, Mapping) and h.get("id") == rid), {})
    rollout = status.get("rollout") if isinstance(status.get("rollout"), Mapping) else {}
    raw_reason = entry.get("reason") or (rollout.get("reason") if rollout and rollout.get("id") == rid else None)
    reason = None
    if isinstance(raw_reason, Mapping):
        reason = Reason(kind=str(raw_reason.get("kind", "")), message=str(raw_reason.get("message", "")),
                        metric=raw_reason.get("metric"), value=raw_reason.get("value"),
                        bound=raw_reason.get("bound"), weight=raw_reason.get("weight"), at=raw_reason.get("at"))
    kind = metric_type(spec, reason.metric if reason else None)
    why = reason_words(reason, kind)
    version = str(entry.get("version") or field(spec, "version") or "")
    stable = status.get("stable") if isinstance(status.get("stable"), Mapping) else {}
    stable_version = stable.get("version") if stable else None
    started = entry.get("startedAt")
    ended = entry.get("endedAt")
    timeline = tuple(t for t in (entry.get("timeline") or [])[-TIMELINE_IN_PAYLOAD:] if isinstance(t, Mapping))
    weight = entry.get("weightReached")
    now = now or dt.datetime.now(dt.timezone.utc)
    seconds = _seconds(started, reason.at if reason else ended)
    return Message(
        event=event, key=idempotency_key(namespace, name, uid, rid, event), namespace=namespace, release=name,
        rollout_id=rid, version=version, stable_version=stable_version, outcome=entry.get("outcome"),
        message=text, reason=reason, weight_reached=weight, started_at=started, ended_at=ended,
        timeline=timeline, at=now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        summary=_summary(event, name, namespace, version, stable_version, reason, why, weight, seconds, text),
        uid=uid, reason_text=why,
        value_text=wording.metric_value(reason.value, kind) if reason and reason.value is not None else "",
        bound_text=wording.bound_phrase(reason.bound, kind) if reason and reason.bound else "",
        recovers=recovered_rollouts(status.get("history"), rid) if event == "promotion" else ())
