"""PagerDuty Events API v2: trigger on a rollback or a stall, resolve when the Release is healthy again.

Pure: a :class:`~ripcord.notify.message.Message` in, the event bodies out. One incident per
Release and rollout: the dedup key is ``ripcord/<namespace>/<release>/<uid>/<rollout id>``,
so a retried delivery, a restarted operator, or a stall followed by a rollback of the same
rollout all land on the same incident, and a new rollout opens its own.

* ``rollback`` triggers (severity ``error``), except a manual abort: a person did it.
* ``stall`` (no verdict by ``analysis.maxDuration``) triggers (severity ``warning``).
* ``promotion`` resolves the incidents of every rollout the promotion recovers from
  (:func:`ripcord.notify.message.recovered_rollouts`): the rollouts that rolled back or
  were held since the previous promotion. A ``kubectl ripcord retry`` that promotes, or a
  fixed version that promotes, both end them.
* ``pre-rollout`` and ``post-rollout`` send nothing.

The routing key (the integration key of a PagerDuty service) is not in the Release: it is
the ``token`` key of the Secret that ``secretRef`` names, read when the event is sent and
put in the body (:func:`with_routing_key`); PagerDuty takes no ``Authorization`` header.
Nothing in an event is a link.
"""
from __future__ import annotations

import hashlib
from typing import Any, Mapping

from ripcord.notify.message import Message

SEVERITY = {"rollback": "error", "stall": "warning"}
#: Triggers that a person caused: no page (the same rule as the RipcordReleaseRolledBack alert).
NOT_PAGED_REASONS = ("Manual", "Reverted")
MAX_KEY = 255
MAX_SUMMARY = 1024
TIMELINE_IN_DETAILS = 8


def dedup_key(msg: Message, rollout_id: int) -> str:
    """``ripcord/shop/web/<uid>/3``; hashed past PagerDuty's 255 characters (long names)."""
    key = f"ripcord/{msg.namespace}/{msg.release}/{msg.uid or '-'}/{rollout_id}"
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"ripcord/{digest}/{rollout_id}"


def trigger(msg: Message) -> dict[str, Any]:
    reason = msg.reason
    details: dict[str, Any] = {
        "namespace": msg.namespace, "release": msg.release, "rolloutId": msg.rollout_id,
        "version": msg.version, "stableVersion": msg.stable_version, "outcome": msg.outcome,
        "reason": msg.reason_text or msg.message, "weightReached": msg.weight_reached,
        "startedAt": msg.started_at, "endedAt": msg.ended_at, "idempotencyKey": msg.key,
        "timeline": [f"{t.get('at', '')} {t.get('event', '')}"
                     + (f" @{t['weight']}%" if t.get("weight") is not None else "")
                     + (f": {t.get('message')}" if t.get("message") else "")
                     for t in msg.timeline[-TIMELINE_IN_DETAILS:]],
    }
    if reason is not None:
        details.update({"reasonKind": reason.kind, "metric": reason.metric, "value": msg.value_text or None,
                        "bound": msg.bound_text or None, "weight": reason.weight})
    summary = msg.summary if len(msg.summary) <= MAX_SUMMARY else msg.summary[: MAX_SUMMARY - 1] + "…"
    return {
        "event_action": "trigger",
        "dedup_key": dedup_key(msg, msg.rollout_id),
        "client": "Ripcord",
        "payload": {
            "summary": summary,
            "source": f"{msg.namespace}/{msg.release}",
            "severity": SEVERITY.get(msg.event, "warning"),
            "timestamp": (reason.at if reason is not None and reason.at else msg.at),
            "component": msg.release,
            "group": msg.namespace,
            "class": msg.event,
            "custom_details": {k: v for k, v in details.items() if v is not None},
        },
    }


def resolve(msg: Message, rollout_id: int) -> dict[str, Any]:
    return {"event_action": "resolve", "dedup_key": dedup_key(msg, rollout_id)}


def events(msg: Message) -> list[tuple[str, dict[str, Any]]]:
    """(idempotency key, event body) for each event this message sends; the routing key is added at send time."""
    if msg.event in ("rollback", "stall"):
        if msg.event == "rollback" and msg.reason is not None and msg.reason.kind in NOT_PAGED_REASONS:
            return []
        return [(msg.key, trigger(msg))]
    if msg.event == "promotion":
        return [(f"{msg.key}/resolve/{rid}", resolve(msg, rid)) for rid in msg.recovers]
    return []


def with_routing_key(body: Mapping[str, Any], routing_key: str) -> dict[str, Any]:
    """The body as sent: PagerDuty reads the integration key from ``routing_key``."""
    return {"routing_key": routing_key.strip(), **body}
