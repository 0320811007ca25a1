"""Which body each kind of webhook gets (``spec.notifications[].type``): pure, a Message in.

* ``generic``: Ripcord's own JSON (documented in docs/install.md), every fact of the message.
* ``slack``: an incoming-webhook body, ``text`` plus Block Kit ``blocks``, mrkdwn escaped.
* ``pagerduty``: Events API v2 trigger/resolve events (:mod:`ripcord.notify.pagerduty`).
* ``msteams``: an Adaptive Card message (:mod:`ripcord.notify.msteams`).

:func:`outgoing` returns one (idempotency key, body) per request to send; most kinds send
exactly one per message, PagerDuty none (nothing to page about) or several (one resolve per
recovered rollout).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from ripcord.notify import msteams, pagerduty
from ripcord.notify.message import TITLES, Message

SLACK_EMOJI = {"rollback": ":rotating_light:", "promotion": ":white_check_mark:", "stall": ":warning:",
               "pre-rollout": ":arrow_forward:", "post-rollout": ":checkered_flag:"}
KINDS = ("generic", "slack", "pagerduty", "msteams")


def generic_payload(msg: Message) -> dict[str, Any]:
    """The generic JSON body (documented in docs/install.md)."""
    return {
        "source": "ripcord",
        "event": msg.event,
        "idempotencyKey": msg.key,
        "namespace": msg.namespace,
        "release": msg.release,
        "rolloutId": msg.rollout_id,
        "version": msg.version,
        "stableVersion": msg.stable_version,
        "outcome": msg.outcome,
        "message": msg.message,
        "reason": None if msg.reason is None else dict(dataclasses.asdict(msg.reason)),
        "weightReached": msg.weight_reached,
        "startedAt": msg.started_at,
        "endedAt": msg.ended_at,
        "timeline": [dict(t) for t in msg.timeline],
        "summary": msg.summary,
        "at": msg.at,
    }


def _slack_escape(text: Any) -> str:
    """Slack mrkdwn control characters; also keeps a version string from smuggling in a <link|...>."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def slack_payload(msg: Message) -> dict[str, Any]:
    """A Slack incoming-webhook body: ``text`` (the fallback, notifications) plus Block Kit ``blocks``."""
    title = f"{SLACK_EMOJI.get(msg.event, '')} {msg.release}: {msg.version} {TITLES.get(msg.event, msg.event)}".strip()
    fields = [f"*Release*\n{msg.namespace}/{msg.release}", f"*Version*\n{msg.version}"]
    if msg.stable_version:
        fields.append(f"*Stable*\n{msg.stable_version}")
    if msg.outcome:
        fields.append(f"*Outcome*\n{msg.outcome}")
    if msg.reason is not None:
        fields.append(f"*Reason*\n{msg.reason.kind}")
        if msg.reason.metric:
            fields.append(f"*Metric*\n{msg.reason.metric}")
        if msg.value_text:
            fields.append(f"*Value*\n{msg.value_text}" + (f" (bound {msg.bound_text})" if msg.bound_text else ""))
        if msg.reason.weight is not None:
            fields.append(f"*Weight*\n{msg.reason.weight}%")
    lines = [f"`{t.get('at', '')}` {t.get('event', '')}" + (f" @{t['weight']}%" if t.get("weight") is not None else "")
             + (f" — {t.get('message')}" if t.get("message") else "") for t in msg.timeline[-8:]]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, 150), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(_slack_escape(msg.summary), 3000)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _cut(_slack_escape(f), 2000)} for f in fields[:10]]},
    ]
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _cut(_slack_escape("\n".join(lines)), 3000)}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": _cut(_slack_escape(f"rollout {msg.rollout_id} · key {msg.key} · {msg.at}"), 3000)}]})
    return {"text": _cut(_slack_escape(msg.summary), 3000), "blocks": blocks}


def _one(shape: Callable[[Message], dict[str, Any]]) -> Callable[[Message], list[tuple[str, dict[str, Any]]]]:
    return lambda msg: [(msg.key, shape(msg))]


OUTGOING: dict[str, Callable[[Message], list[tuple[str, dict[str, Any]]]]] = {
    "generic": _one(generic_payload),
    "slack": _one(slack_payload),
    "msteams": _one(msteams.payload),
    "pagerduty": pagerduty.events,
}


def outgoing(kind: str, msg: Message) -> list[tuple[str, dict[str, Any]]]:
    """(idempotency key, body) for each request a webhook of ``kind`` gets for ``msg``."""
    return OUTGOING.get(kind, OUTGOING["generic"])(msg)
