"""Timeline tables in the post-mortem's style (``| Time | Event | Status |``): pure, no I/O.

The Ripcord table comes from the Release's recorded ``status.history[].timeline`` (each
transition the operator recorded, with its time), plus a few moments only the clients saw,
taken from the gateway's record (the faulty version's first answer, the second from which
every request was back on the stable version). The baseline table comes from what the demo
did and saw.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable, Mapping, Optional, Sequence

from ripcord.api import wording

FAILURE, DEGRADED, DETECTED, IN_PROGRESS = "✗ FAILURE", "⚠️ DEGRADED", "🔴 DETECTED", "🔄 IN PROGRESS"
RESTORED, HEALTHY, PROMOTED, INSTALLED = "✓ RESTORED", "✓ HEALTHY", "✓ PROMOTED", "✓ INSTALLED"


@dataclasses.dataclass(frozen=True)
class Moment:
    at: float  # unix seconds
    event: str
    status: str


def parse_time(text: str) -> float:
    """RFC 3339 as the operator writes it (``2026-01-29T14:30:00.12Z``) -> unix seconds."""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)).timestamp()


def _status(event: str, outcome: str) -> str:
    """The status mark of a recorded transition; a rollout that was rolled back degraded users while it served."""
    bad = outcome in ("RolledBack", "Aborted", "Failed")
    return {
        "Installed": INSTALLED,
        "Started": IN_PROGRESS,
        "StepStarted": IN_PROGRESS,
        "WeightServed": DEGRADED if bad else IN_PROGRESS,
        "Promoting": IN_PROGRESS,
        "Switched": IN_PROGRESS,
        "Promoted": PROMOTED,
        "RollingBack": DETECTED,
        "Aborting": DETECTED,
        "Reverting": IN_PROGRESS,
        "RolledBack": RESTORED,
        "Aborted": RESTORED,
        "Superseded": "⚠️ SUPERSEDED",
        "Paused": "⚠️ PAUSED",
        "Resumed": IN_PROGRESS,
        "PromoteRequested": IN_PROGRESS,
        "NoVerdict": "⚠️ HELD",
        "GateStarted": IN_PROGRESS,
        "GatePassed": IN_PROGRESS,
        "MirrorStarted": IN_PROGRESS,
        "MirrorPassed": IN_PROGRESS,
        "PauseStarted": "⚠️ PAUSED",
        "PauseEnded": IN_PROGRESS,
    }.get(event, "·")


def _event_text(entry: Mapping[str, Any], item: Mapping[str, Any]) -> str:
    """A transition in words; a rollback says which metric breached which bound at which weight."""
    version, event, message = entry["version"], item["event"], item.get("message") or ""
    if event == "Started":
        return f"Version {version} released through Ripcord ({message.split(': ', 1)[-1]})"
    if event in ("RollingBack", "Aborting"):
        return rollback_text(version, entry.get("reason") or {"message": message})
    if event == "RolledBack":
        return f"Version {version} rolled back: no traffic on it any more"
    if event == "Promoted":
        return f"Version {version} promoted"
    if message:
        return message[:1].upper() + message[1:]
    return event


def rollback_text(version: str, reason: Mapping[str, Any]) -> str:
    """Why Ripcord rolled ``version`` back, from the recorded reason (metric, value, bound, weight)."""
    if reason.get("kind") == "Gate":
        why = str(reason.get("message", "?")).removeprefix("pre-traffic gate: ")
        return f"Ripcord rolls {version} back before any user request reached it (pre-traffic gate): {why}"
    if reason.get("metric") is not None and reason.get("value") is not None:
        metric = str(reason["metric"])
        kind = metric if metric in ("error-rate", "latency") else None  # the demo's metrics are named by type
        return (f"Ripcord rolls {version} back on its own: "
                f"{wording.breach(metric, float(reason['value']), reason.get('bound'), kind)} "
                f"at canary weight {reason.get('weight', '?')}%")
    return f"Ripcord rolls {version} back: {reason.get('message', '?')}"


def history_moments(history: Iterable[Mapping[str, Any]], versions: Optional[Sequence[str]] = None) -> list[Moment]:
    """Every recorded transition of the history entries (of ``versions`` only, if given)."""
    out = []
    for entry in history:
        if versions is not None and entry.get("version") not in versions:
            continue
        for item in entry.get("timeline") or []:
            out.append(Moment(parse_time(item["at"]), _event_text(entry, item),
                              _status(item["event"], entry.get("outcome", ""))))
    return out


def clock(at: float, origin: Optional[float] = None) -> str:
    """``14:30:05.3`` in UTC (rounded to 0.1 s), with ``(+4.2 s)`` from ``origin`` if given."""
    whole, tenth = divmod(round(at * 10), 10)
    text = dt.datetime.fromtimestamp(whole, dt.timezone.utc).strftime("%H:%M:%S") + f".{tenth}"
    if origin is None:
        return text
    return f"{text} ({at - origin:+.1f} s)"


def render(moments: Iterable[Moment], origin: Optional[float] = None, max_event: int = 110) -> str:
    """A markdown table, oldest first; times in UTC, relative to ``origin`` if given."""
    rows = [(clock(m.at, origin), _clip(m.event, max_event), m.status) for m in sorted(moments, key=lambda m: m.at)]
    head = ("Time (UTC)", "Event", "Status")
    widths = [max([len(head[i])] + [len(r[i]) for r in rows]) for i in range(2)]
    lines = [f"| {head[0]:<{widths[0]}} | {head[1]:<{widths[1]}} | {head[2]} |",
             f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 2)}|--------|"]
    lines += [f"| {t:<{widths[0]}} | {e:<{widths[1]}} | {s} |" for t, e, s in rows]
    return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split()).replace("|", "/")
    return text if len(text) <= n else text[: n - 1] + "…"


def client_moments(first_faulty_t: Optional[float], restored_t: Optional[float], *, faulty: str,
                   stable: str) -> list[Moment]:
    """What the clients saw, from the gateway's record (second resolution)."""
    out = []
    if first_faulty_t is not None:
        out.append(Moment(first_faulty_t, f"Clients: first request answered by {faulty}", FAILURE))
    if restored_t is not None:
        out.append(Moment(restored_t, f"Clients: every request answered by {stable} again", HEALTHY))
    return out


def asked_weights(entry: Mapping[str, Any], origin: float) -> list[tuple[float, float]]:
    """The canary weight Ripcord asked over a rollout, as ``(seconds from origin, weight)`` steps."""
    out = [(parse_time(item["at"]) - origin, float(item["weight"]))
           for item in entry.get("timeline") or [] if item.get("weight") is not None]
    return out
