"""Microsoft Teams: an Adaptive Card in a ``message`` for an incoming webhook or a Workflows webhook.

Pure: a :class:`~ripcord.notify.message.Message` in, the body out. The shape is the one
both kinds of Teams webhook accept, ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard 1.4>}]}``: a title,
the summary, a fact set (release, version, stable, outcome, reason, value, bound, weight),
the recent timeline, and the idempotency key. Adaptive Card text is Markdown, so link syntax in
text from a Release is broken (``[x](url)`` shows as written) and the card has no actions:
receivers get facts, not URLs to follow.
"""
from __future__ import annotations

import re
from typing import Any

from ripcord.notify.message import TITLES, Message

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
TIMELINE_IN_CARD = 8
COLOR = {"rollback": "Attention", "stall": "Warning", "promotion": "Good"}
_LINK = re.compile(r"\]\s*\(")
ZWSP = "\u200b"


def plain(text: Any, limit: int = 2000) -> str:
    """Text with Markdown link syntax broken (``[x](url)`` shows as written, never as a link)."""
    s = _LINK.sub("]" + ZWSP + "(", str(text))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": plain(text), "wrap": True, **style}


def payload(msg: Message) -> dict[str, Any]:
    title = f"{msg.release}: {msg.version} {TITLES.get(msg.event, msg.event)}"
    facts = [("Release", f"{msg.namespace}/{msg.release}"), ("Version", msg.version)]
    if msg.stable_version:
        facts.append(("Stable", msg.stable_version))
    if msg.outcome:
        facts.append(("Outcome", msg.outcome))
    if msg.reason is not None:
        facts.append(("Reason", f"{msg.reason.kind}: {msg.reason_text}" if msg.reason_text else msg.reason.kind))
        if msg.value_text:
            facts.append(("Value", msg.value_text))
        if msg.bound_text:
            facts.append(("Bound", msg.bound_text))
        if msg.reason.weight is not None:
            facts.append(("Weight", f"{msg.reason.weight}%"))
    body: list[dict[str, Any]] = [
        _text(title, size="Large", weight="Bolder", color=COLOR.get(msg.event, "Default")),
        _text(msg.summary),
        {"type": "FactSet", "facts": [{"title": plain(k, 200), "value": plain(v, 1000)} for k, v in facts]},
    ]
    lines = [f"{t.get('at', '')} {t.get('event', '')}" + (f" @{t['weight']}%" if t.get("weight") is not None else "")
             + (f": {t.get('message')}" if t.get("message") else "") for t in msg.timeline[-TIMELINE_IN_CARD:]]
    if lines:
        body.append(_text("Timeline", weight="Bolder", spacing="Medium"))
        body.extend(_text(line, spacing="None", isSubtle=True, size="Small") for line in lines)
    body.append(_text(f"rollout {msg.rollout_id} · key {msg.key} · {msg.at}", isSubtle=True, size="Small",
                      spacing="Medium"))
    card = {"type": "AdaptiveCard", "version": CARD_VERSION, "msteams": {"width": "Full"}, "body": body}
    return {"type": "message", "summary": plain(msg.summary, 250),
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}
