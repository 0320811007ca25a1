"""The incident report: one rollout of a Release, as Markdown.

Pure: the Release object (its ``status.history`` entry carries the timeline and the
rollback reason), the Release's Events and an optional measured :class:`Impact` in,
Markdown out. The report follows the shape of the team's hand-written post-mortems
(summary, timeline table with a status column, impact, what worked, follow-ups) but says
only what Ripcord recorded or measured: the root cause is left to the people who own
the service, and every number names where it came from.

Why Events as well as the timeline: the timeline is what the engine decided; Events add
what it refused or noticed around it (a stale manual request, an invalid spec) and are
what ``kubectl describe`` showed on-call at the time. They expire (the API server keeps
them for about an hour by default), so the report works without them.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, Optional, Sequence

from ripcord.api import wording
from ripcord.cli.impact import Impact, SourceImpact
from ripcord.cli.render import (Obj, between, bound_text, clock, condition, dig, duration, metric_judge, metric_kind,
                                metric_value, number, parse_time, percent, spec_weights, stamp)

INCIDENT_OUTCOMES = ("RolledBack", "Aborted", "Failed")

#: Engine timeline events -> the report's status column.
STATUS = {
    "Installed": "✓ INSTALLED",
    "Started": "🚀 STARTED",
    "StepStarted": "➡️ STEP",
    "WeightServed": "✓ SERVING",
    "Paused": "⏸️ PAUSED",
    "Resumed": "▶️ RESUMED",
    "PromoteRequested": "👤 PROMOTE ASKED",
    "Promoting": "⬆️ PROMOTING",
    "Switched": "🔀 SWITCHED",
    "Promoted": "✓ PROMOTED",
    "RollingBack": "🔴 DETECTED",
    "Aborting": "🛑 ABORTED",
    "Reverting": "↩️ REVERTING",
    "RolledBack": "✓ RESTORED",
    "Aborted": "✓ RESTORED",
    "Superseded": "⏭️ SUPERSEDED",
    "NoVerdict": "⚠️ HOLDING",
}

#: Event reasons the engine posts for a timeline entry it also records (shown once).
EVENT_TO_TIMELINE = {"RolloutStarted": "Started"}
_ROLLOUT_REF = re.compile(r"\brollout (\d+)\b")
_ROLLOUT_PREFIX = re.compile(r"^rollout \d+:\s*")
DEDUPE_S = 3.0
EVENT_MARGIN_BEFORE_S = 1.0  # Event times are truncated to the second
EVENT_MARGIN_AFTER_S = 30.0


class NoRollout(LookupError):
    pass


# ---------------------------------------------------------------------------- choosing

def pick_rollout(release: Obj, rollout_id: Optional[int] = None) -> Obj:
    """The rollout to report on: the one asked for, else the latest that did not ship, else the latest."""
    history: list[Obj] = list(dig(release, "status", "history", default=[]))
    if not history:
        raise NoRollout("this Release has no recorded rollouts (status.history is empty)")
    if rollout_id is not None:
        for h in history:
            if h.get("id") == rollout_id:
                return h
        ids = ", ".join(str(h.get("id")) for h in history)
        raise NoRollout(f"rollout {rollout_id} is not in status.history (kept: {ids})")
    for h in history:
        if h.get("outcome") in INCIDENT_OUTCOMES:
            return h
    return history[0]


# ---------------------------------------------------------------------------- timeline

def _event_time(e: Obj) -> Optional[dt.datetime]:
    for key in ("eventTime", "lastTimestamp", "firstTimestamp"):
        t = parse_time(e.get(key))
        if t:
            return t
    return parse_time(dig(e, "metadata", "creationTimestamp"))


def timeline_rows(entry: Obj, events: Sequence[Obj], now: dt.datetime) -> list[tuple[dt.datetime, str, str]]:
    """(time, event text, status) rows: the engine's timeline, plus the Events it does not cover."""
    rows: list[tuple[dt.datetime, str, str, str]] = []  # time, key, text, status
    for t in entry.get("timeline") or []:
        at = parse_time(t.get("at"))
        if at is None:
            continue
        rows.append((at, t.get("event", ""), _timeline_text(t), STATUS.get(t.get("event", ""), "ℹ️ " + t.get("event", ""))))
    start = parse_time(entry.get("startedAt"))
    end = parse_time(entry.get("endedAt")) or now
    rid = entry.get("id")
    for e in events:
        at = _event_time(e)
        if at is None or start is None:
            continue
        if not (start - dt.timedelta(seconds=EVENT_MARGIN_BEFORE_S) <= at
                <= end + dt.timedelta(seconds=EVENT_MARGIN_AFTER_S)):
            continue
        ref = _ROLLOUT_REF.search(e.get("message") or "")
        if ref and int(ref.group(1)) != rid:
            continue
        reason = e.get("reason") or ""
        key = EVENT_TO_TIMELINE.get(reason, reason)
        if any(k == key and abs((a - at).total_seconds()) <= DEDUPE_S for a, k, _, _ in rows):
            continue
        warn = e.get("type") == "Warning"
        count = int(e.get("count") or 1)
        text = f"Event {reason}: {e.get('message', '')}" + (f" (×{count})" if count > 1 else "")
        rows.append((at, key, text, STATUS.get(key, "⚠️ WARNING" if warn else "ℹ️ EVENT")))
    rows.sort(key=lambda r: r[0])
    return [(at, text, status) for at, _, text, status in rows]


def _timeline_text(t: Obj) -> str:
    msg = _ROLLOUT_PREFIX.sub("", (t.get("message") or "").strip())
    event = str(t.get("event", ""))
    text: str = {
        "Started": "Rollout started",
        "StepStarted": "Step started",
        "WeightServed": "Canary serving its weight",
        "RollingBack": "Rollback started",
        "Aborting": "Abort requested, rolling back",
        "Reverting": "Template reverted, rolling back",
        "RolledBack": "Rolled back",
        "Aborted": "Aborted",
        "Promoted": "Promoted",
        "Switched": "Canary took all traffic",
    }.get(event, event)
    return f"{text}: {msg}" if msg else text


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------- milestones

def first_served(entry: Obj) -> Optional[dt.datetime]:
    """When the canary first took traffic: the first WeightServed (else the first step)."""
    for event in ("WeightServed", "StepStarted"):
        for t in entry.get("timeline") or []:
            if t.get("event") == event and (t.get("weight") or 0) > 0:
                return parse_time(t.get("at"))
    return None


_SERVED = re.compile(r"serves ([0-9.]+)%")


def max_served(entry: Obj) -> Optional[float]:
    """The largest canary share the data plane served (WeightServed entries), which can exceed the
    asked weight: with the replicas provider the share is quantised to whole pods."""
    shares = [float(m.group(1)) for t in entry.get("timeline") or [] if t.get("event") == "WeightServed"
              for m in [_SERVED.search(t.get("message") or "")] if m]
    if any(t.get("event") == "Switched" for t in entry.get("timeline") or []):
        shares.append(100.0)
    return max(shares) if shares else None


def _rollback_started(entry: Obj) -> Optional[dt.datetime]:
    reason = entry.get("reason") or {}
    if reason.get("at"):
        return parse_time(reason["at"])
    for t in entry.get("timeline") or []:
        if t.get("event") in ("RollingBack", "Aborting", "Reverting"):
            return parse_time(t.get("at"))
    return None


def _event_at(entry: Obj, *names: str) -> Optional[dt.datetime]:
    for t in entry.get("timeline") or []:
        if t.get("event") in names:
            return parse_time(t.get("at"))
    return None


# ---------------------------------------------------------------------------- report

def build(release: Obj, events: Sequence[Obj], *, rollout_id: Optional[int] = None,
          impact: Optional[Impact] = None, impact_error: Optional[str] = None,
          prometheus: Optional[str] = None, generated_at: dt.datetime) -> str:
    """The Markdown report for one rollout (see :func:`pick_rollout` for the default)."""
    entry = pick_rollout(release, rollout_id)
    r = _Report(release, entry, events, generated_at)
    parts = [r.title(), r.summary(), r.timeline(), r.signal(), r.detection(),
             r.impact(impact, impact_error, prometheus), r.worked(), r.follow_ups(), r.configuration(), r.footer()]
    return "\n".join(p for p in parts if p) + "\n"


class _Report:
    def __init__(self, release: Obj, entry: Obj, events: Sequence[Obj], now: dt.datetime) -> None:
        self.release, self.entry, self.events, self.now = release, entry, events, now
        self.ns = dig(release, "metadata", "namespace", default="?")
        self.name = dig(release, "metadata", "name", default="?")
        self.id = entry.get("id")
        self.version = entry.get("version", "?")
        self.outcome = entry.get("outcome", "?")
        self.reason: Obj = entry.get("reason") or {}
        self.started = parse_time(entry.get("startedAt"))
        self.ended = parse_time(entry.get("endedAt"))
        self.served = first_served(entry)
        self.detected = _rollback_started(entry) if self.outcome in INCIDENT_OUTCOMES + ("Superseded",) else None
        self.restored = self.ended if self.outcome in INCIDENT_OUTCOMES else None
        self.previous_stable = self._stable_before()
        self.incident = self.outcome in INCIDENT_OUTCOMES
        self.asked = int(self.entry.get("weightReached") or 0)
        self.served_share = max_served(entry)

    def _reach(self) -> str:
        """``20% of traffic``, or ``33.33% of traffic (20% asked)`` when the data plane served more."""
        if self.served_share is not None and self.served_share > self.asked + 0.5:
            return f"{number(self.served_share)}% of traffic ({self.asked}% asked)"
        return f"{self.asked}% of traffic"

    def _stable_before(self) -> str:
        for t in self.entry.get("timeline") or []:
            if t.get("event") == "Started":
                m = re.search(r":\s*(\S+)\s*->", t.get("message") or "")
                if m:
                    return m.group(1)
        for h in dig(self.release, "status", "history", default=[]):
            if (h.get("id") or 0) < (self.id or 0) and h.get("outcome") == "Promoted":
                return str(h.get("version"))
        return str(dig(self.release, "status", "stable", "version", default="the stable version"))

    # -------------------------------------------------------------- sections

    def title(self) -> str:
        day = self.started.strftime("%B %d, %Y") if self.started else "date unknown"
        what = wording.outcome_words(self.outcome)
        kind = "Post-Mortem Report" if self.incident else "Rollout Report"
        return (f"# {kind}\n\n## Release `{self.ns}/{self.name}`, rollout {self.id}: "
                f"version {self.version} {what} — {day}\n")

    def summary(self) -> str:
        s = ["### Executive Summary\n"]
        start = f"{stamp(self.started)} UTC" if self.started else "an unrecorded time"
        text = (f"On {start}, version {self.version} of release `{self.name}` (namespace `{self.ns}`) started a "
                f"canary rollout (rollout {self.id}) beside the stable version {self.previous_stable}.")
        if self.served:
            text += f" The canary first served traffic at {clock(self.served)}."
        weight = self.reason.get("weight", self.entry.get("weightReached"))
        if self.incident:
            kind = self.reason.get("kind")
            if kind == "Manual":
                text += (f" It was aborted by request at {clock(self.detected)}"
                         + (f" at a canary weight of {weight}%" if weight is not None else "") + ".")
            elif kind:
                text += f" At {clock(self.detected)}, {self._signal_sentence()}, and Ripcord rolled back on its own."
            if self.restored:
                text += (f" From {clock(self.restored)} the canary served no traffic: "
                         + (f"the problem was detected {duration(between(self.served, self.detected))} after the "
                            f"canary began serving, and " if self.served and self.detected else "")
                         + (f"traffic was restored {duration(between(self.detected, self.restored))} after "
                            f"detection." if self.detected else "traffic was restored."))
            text += (f" Version {self.previous_stable} kept serving "
                     + ("the remaining traffic throughout." if kind != "PostPromotionWatch" else
                        "as the warm previous version and took the traffic straight back."))
        elif self.outcome == "Promoted":
            text += (f" Every step passed and {self.version} was promoted at {clock(self.ended)}, "
                     f"{duration(between(self.started, self.ended))} after the rollout started. No incident.")
        elif self.outcome == "Superseded":
            text += (f" It was superseded at {clock(self.ended)} before a verdict"
                     + (f" ({self.reason.get('message')})" if self.reason.get("message") else
                        " (the spec changed to a newer template)") + ".")
        elif self.outcome == "Progressing":
            text += f" It is still in progress at {stamp(self.now)} UTC; this report is provisional."
        s.append(text + "\n")
        return "\n".join(s)

    def _signal_sentence(self) -> str:
        kind, metric = self.reason.get("kind"), self.reason.get("metric")
        w = self.reason.get("weight")
        at_w = f" at a canary weight of {w}%" if w is not None else ""
        if kind in ("Metric", "PostPromotionWatch") and metric and self.reason.get("value") is not None:
            mk = metric_kind(self.release, metric)
            when = " during the post-promotion watch" if kind == "PostPromotionWatch" else ""
            return (f"the analysis found `{metric}` = {metric_value(self.reason['value'], mk)} against the bound "
                    f"`{bound_text(self.reason.get('bound'), mk)}`{at_w}{when}")
        if kind == "PodHealth" or (kind == "PostPromotionWatch" and metric):
            return f"the pod-health gate `{metric or '?'}` tripped{at_w} ({self.reason.get('message', '')})"
        if kind == "MetricsUnavailable":
            return f"metrics stayed unavailable beyond the limit{at_w} ({self.reason.get('message', '')})"
        if kind == "Gate":
            return f"the pre-traffic gate failed before any user request reached the canary " \
                   f"({self.reason.get('message', '')})"
        if kind == "Webhook":
            return f"the gating webhook `{metric or '?'}` decided{at_w} ({self.reason.get('message', '')})"
        return f"{kind}: {self.reason.get('message', '')}"

    def timeline(self) -> str:
        rows = timeline_rows(self.entry, self.events, self.now)
        heading = "### Incident Timeline\n" if self.incident else "### Rollout Timeline\n"
        if not rows:
            return heading + "\nNo timeline was recorded for this rollout.\n"
        multi_day = rows[0][0].date() != rows[-1][0].date()
        lines = [heading, "| Time (UTC) | Event | Status |", "|------|-------|--------|"]
        for at, text, status in rows:
            lines.append(f"| {stamp(at) if multi_day else clock(at)} | {_escape(text)} | {status} |")
        lines.append("")
        if self.incident and self.served and self.detected:
            lines.append(f"**Time to detect: {duration(between(self.served, self.detected))}** "
                         "(from the canary's first traffic to the rollback decision)")
        if self.incident and self.detected and self.restored:
            lines.append(f"**Time to restore: {duration(between(self.detected, self.restored))}** "
                         "(from the decision to the canary serving 0%)")
        if self.served:
            end = self.restored or self.ended or self.now
            lines.append(f"**Canary exposure: {duration(between(self.served, end))}, at up to "
                         f"{self._reach()}**")
        lines.append(f"**Outcome: {self.outcome}**" + (f" ({self.reason.get('kind')})" if self.reason else ""))
        return "\n".join(lines) + "\n\n---\n"

    def signal(self) -> str:
        if not self.reason:
            return ""
        kind = str(self.reason.get("kind"))
        title = {"Manual": "The Request That Stopped the Rollout", "Reverted": "Why the Rollout Stopped"}.get(
            kind, "The Signal That Triggered the Rollback")
        metric = self.reason.get("metric")
        mk = metric_kind(self.release, metric)
        value = metric_value(self.reason.get("value"), mk)
        stable_value = self._stable_value(metric)
        if stable_value is not None:
            value += f" (stable {metric_value(stable_value, mk)})"
        lines = [f"## {title}\n", "| Signal | Metric | Value | Bound | Weight | Time (UTC) |",
                 "|---|---|---|---|---|---|",
                 f"| {kind} | {metric or '-'} | {value} | {_escape(bound_text(self.reason.get('bound'), mk))} | "
                 f"{percent(self.reason.get('weight'))} | {clock(parse_time(self.reason.get('at')))} |", "",
                 f"Recorded reason: {_escape(self.reason.get('message') or '-')}"]
        scope = wording.value_scope(metric_judge(self.release, metric)) if metric else ""
        if scope and self.reason.get("value") is not None:
            lines += ["", f"The value is the canary's {scope} (the `{metric_judge(self.release, metric)}` judge)."]
        an = self._analysis_for_this_rollout()
        if an:
            lines += ["", f"All metrics at the last analysis ({clock(parse_time(an.get('at')))}, "
                          f"step {int(an.get('step') or 0) + 1}, verdict {an.get('verdict')}):", "",
                      "| Metric | Verdict | Canary | Stable | Bound | Note |", "|---|---|---|---|---|---|"]
            for m in an.get("metrics") or []:
                k = metric_kind(self.release, m.get("name"))
                lines.append(f"| {m.get('name')} | {m.get('verdict')} | {metric_value(m.get('value'), k)} | "
                             f"{metric_value(m.get('stableValue'), k)} | {_escape(bound_text(m.get('bound'), k))} | "
                             f"{_escape(m.get('message') or '')} |")
            lines += ["", "Canary and Stable are over the step so far (fixed bounds) or the rollout so far "
                          "(sequential judge); counts \"over Ns\" in a note are the last interval's alone."]
        return "\n".join(lines) + "\n"

    def _analysis_for_this_rollout(self) -> Optional[Obj]:
        """``status.analysis`` is the latest rollout's only: use it while no newer rollout replaced it."""
        history = dig(self.release, "status", "history", default=[])
        ro = dig(self.release, "status", "rollout")
        if not history or history[0].get("id") != self.id:
            return None
        if ro and ro.get("id") != self.id:
            return None
        an = dig(self.release, "status", "analysis")
        return an if an and an.get("metrics") else None

    def _stable_value(self, metric: Optional[str]) -> Optional[float]:
        an = self._analysis_for_this_rollout()
        for m in (an or {}).get("metrics") or []:
            if m.get("name") == metric and m.get("value") == self.reason.get("value"):
                value = m.get("stableValue")
                return float(value) if value is not None else None
        return None

    def detection(self) -> str:
        rows = [("Rollout started", self.started), ("Canary first served traffic", self.served)]
        if self.detected:
            rows.append(({"Manual": "Abort requested", "Reverted": "Template reverted"}.get(
                self.reason.get("kind", ""), "Regression detected, rollback started"), self.detected))
        if self.restored:
            rows.append(("Canary at 0%: stable serving everything", self.restored))
        switched = _event_at(self.entry, "Switched")
        if switched:
            rows.append(("Canary took all traffic (post-promotion watch)", switched))
        if self.outcome == "Promoted" and self.ended:
            rows.append(("Promoted", self.ended))
        lines = ["## Detection and Restore\n", "| Milestone | Time (UTC) | Since start |", "|---|---|---|"]
        for label, at in rows:
            lines.append(f"| {label} | {clock(at) if at else 'not recorded'} | "
                         f"{duration(between(self.started, at)) if at else '-'} |")
        return "\n".join(lines) + "\n"

    def impact(self, impact: Optional[Impact], error: Optional[str], prometheus: Optional[str]) -> str:
        lines = ["## Impact Assessment\n"]
        served_for = between(self.served, self.restored or self.ended or self.now) if self.served else None
        bound = (f"From the recorded weights alone: the canary took at most {self._reach()} "
                 f"for {duration(served_for)}.") if served_for is not None else \
            "The canary never served traffic (no step reached a weight above 0%)."
        if impact is None:
            why = (f"Prometheus at {prometheus} could not be read: {error}" if error else
                   "no Prometheus was given; run with `--prometheus URL` to count the canary's requests and errors")
            lines += [f"Impact in requests was not measured: {why}.", "", bound]
            return "\n".join(lines) + "\n"
        lines += [f"Counted from Prometheus ({prometheus or 'given'}) over {stamp(impact.start)} – "
                  f"{clock(impact.end)} UTC (rollout start to end, plus a few seconds for the last scrape); "
                  f"canary `{impact.canary_deployment}`, stable `{impact.stable_deployment}`. A gateway's counts "
                  f"include every request the route sent to the canary's Service `{impact.canary_deployment}`, "
                  "answered or not (refused, reset, timed out, no healthy upstream).", "",
                  "| Source | Canary requests | Canary errors (5xx) | Canary error ratio | Stable error ratio | "
                  "Canary share of requests | Errors beyond stable's rate |", "|---|---|---|---|---|---|---|"]
        for s in impact.sources:
            lines.append(f"| {_source_label(s)} | {_count(s.canary_requests)} | {_count(s.canary_errors)} | "
                         f"{_ratio(s.canary_ratio)} | {_ratio(s.stable_ratio)} | {_ratio(s.canary_share)} | "
                         f"{_count(s.excess_errors)} |")
        if not impact.sources:
            lines.append("| (none) | no request counters found for either version | | | | | |")
        lines.append("")
        worst = max(impact.sources, key=lambda s: s.excess_errors, default=None)
        if worst is not None:
            lines.append(f"**Impact: about {_count(worst.excess_errors)} failed requests beyond the stable's own "
                         f"error rate ({_source_label(worst)} metrics), out of {_count(worst.canary_requests)} "
                         f"requests sent to the canary.**")
        if any(s.resets for s in impact.sources):
            lines.append("Some counters reset during the window (a pod restarted): counts are a lower bound.")
        for note in impact.notes:
            lines.append(f"- {note}")
        lines += ["", bound]
        return "\n".join(lines) + "\n"

    def worked(self) -> str:
        items: list[str] = []
        kind = self.reason.get("kind")
        w = self.reason.get("weight", self.entry.get("weightReached"))
        if self.incident and kind in ("Metric", "PodHealth", "MetricsUnavailable"):
            what = {"Metric": "Canary analysis", "PodHealth": "Pod-health gates",
                    "MetricsUnavailable": "The metrics-outage limit"}[kind]
            items.append(f"**{what}** stopped the rollout at {w}% canary weight"
                         + (f", {duration(between(self.served, self.detected))} after the canary first served "
                            f"traffic" if self.served and self.detected else "")
                         + f"; the other {number(100.0 - (self.served_share or float(w or 0)))}% of requests "
                           f"stayed on {self.previous_stable}.")
        if self.incident and kind == "Gate":
            items.append(f"**Pre-traffic gate** stopped the rollout at weight 0: no user request reached "
                         f"{self.version}.")
        if self.incident and kind == "PostPromotionWatch":
            items.append(f"**Post-promotion watch**: {self.previous_stable} was kept warm after the switch, and "
                         "traffic went straight back to it on the breach, without waiting for pods to start.")
        if self.incident and kind == "Manual":
            items.append("**Manual abort** was acted on by the operator (the request named the running rollout).")
        if self.incident and self.detected and self.restored:
            items.append(f"**Rollback** drained the canary to 0% {duration(between(self.detected, self.restored))} "
                         "after the decision" + (", with no human action." if kind != "Manual" else "."))
        if self.incident:
            items.append(f"**Stable kept serving**: {self.previous_stable} was not scaled down during the rollout.")
            items.append(self._stays_rolled_back())
        if self.outcome == "Promoted":
            items.append(f"**Progressive delivery**: {len(spec_weights(self.release))} step(s) with analysis before "
                         f"{self.version} took all traffic.")
        if not items:
            return ""
        return "## What Worked\n\n" + "\n".join(f"{i}. ✓ {t}" for i, t in enumerate(items, 1)) + "\n"

    def _stays_rolled_back(self) -> str:
        """Whether the Release is *still* Stalled on this rollout, or has moved on since."""
        history = dig(self.release, "status", "history", default=[])
        latest = history[0] if history else {}
        stalled = condition(self.release, "Stalled") or {}
        if latest.get("id") == self.id and stalled.get("status") == "True":
            return ("**The bad version stays rolled back**: the Release is Stalled (Flux reports Failed, "
                    "Argo CD Degraded) and does not retry the same template by itself.")
        later = [h for h in history if isinstance(h.get("id"), int) and isinstance(self.id, int) and h["id"] > self.id]
        nxt = min(later, key=lambda h: h["id"]) if later else None
        phase = dig(self.release, "status", "phase", default="unknown")
        until = (f" until rollout {nxt['id']} ({nxt.get('version', '?')}) started" if nxt is not None
                 else " until the template changed or a retry was asked")
        return (f"**The bad version stayed rolled back**: the Release was Stalled after this rollout and did not "
                f"retry the same template by itself{until}. The Release is {phase} now.")

    def follow_ups(self) -> str:
        if not self.incident:
            return ""
        metric = self.reason.get("metric")
        items = []
        if self.reason.get("kind") in ("Metric", "PostPromotionWatch") and metric:
            items.append(f"Find out why {self.version} breaches `{metric}` (compare the canary's logs and traces "
                         f"in the window above with {self.previous_stable}'s).")
        elif self.reason.get("kind") == "PodHealth":
            items.append(f"Find out why {self.version}'s pods failed `{metric or 'pod health'}` "
                         f"(`kubectl describe pods` of the canary Deployment, container logs).")
        elif self.reason.get("kind") == "MetricsUnavailable":
            items.append("Restore the metrics path (Prometheus reachability, scrape targets) — "
                         "the version itself was never judged.")
        else:
            items.append(f"Record why rollout {self.id} was stopped by hand.")
        items.append("Write the root cause here: Ripcord records what it measured, not why.")
        items.append(f"Ship a fix as a new version (a changed template starts a new rollout), or "
                     f"`kubectl ripcord retry {self.name} -n {self.ns}` if the cause was outside the release.")
        if self.served and self.detected and (between(self.served, self.detected) or 0) > 300:
            items.append("Detection took more than 5 minutes: review the step duration, traffic volume and "
                         "the judge's settings (see the preflight in `kubectl ripcord get`).")
        return "## Follow-up Actions\n\n" + "\n".join(f"- [ ] {i}" for i in items) + "\n"

    def configuration(self) -> str:
        spec = self.release.get("spec") or {}
        an = spec.get("analysis") or {}
        metrics = an.get("metrics")
        mtext = ", ".join(f"`{m.get('name')}` ({m.get('type', 'error-rate')}, {m.get('source', 'app')}, "
                          f"{m.get('judge', 'sequential')}" + (f", max {m['max']}" if m.get("max") is not None else "")
                          + (f", maxRatio {m['maxRatio']}" if m.get("maxRatio") is not None else "") + ")"
                          for m in metrics or []) or "none (pod-health gates only)"
        return ("## Rollout Configuration (current spec)\n\n"
                f"- Steps: {', '.join(f'{w}%' for w in spec_weights(self.release))}, then promotion; "
                f"provider `{dig(spec, 'traffic', 'provider', default='replicas')}`, {spec.get('replicas', '?')} replicas\n"
                f"- Step duration {an.get('stepDuration', '30s')}, analysis every {an.get('interval', '10s')}, "
                f"post-promotion watch {an.get('postPromotionWatch', '60s')}\n"
                f"- Metrics: {mtext}\n")

    def footer(self) -> str:
        n = sum(1 for _ in self.events)
        return ("---\n\n"
                f"*Generated by `kubectl ripcord postmortem {self.name} -n {self.ns} --rollout {self.id}` at "
                f"{stamp(self.now)} UTC from `status.history` and {n} Event(s) of the Release. Times are UTC. "
                "Events expire after the API server's event TTL, so early reports carry more of them.*")


def _count(v: float) -> str:
    return f"{int(round(v)):,}"


def _ratio(v: Optional[float]) -> str:
    return wording.ratio_percent(v)


def _source_label(s: SourceImpact) -> str:
    return {"app": "app (the pods' own counters)", "gateway": "gateway (what clients saw, refused and timed-out included)"}.get(s.source, s.source)


def events_for(events: Iterable[Any], uid: Optional[str]) -> list[Obj]:
    """Only the Events of this incarnation of the Release (a re-created one has a new uid)."""
    return [e for e in events if uid is None or dig(e, "involvedObject", "uid") in (None, uid)]
