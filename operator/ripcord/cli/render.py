"""Pure text rendering for `kubectl ripcord`: Release objects in, strings out.

Everything here works on the Release as the API server returns it (plain JSON dicts), not
on the pydantic models: the plugin must still show a Release written by an older or newer
operator, with fields it does not know or fields missing, instead of refusing to print.
No I/O and no clock: callers pass ``now``, so the same object always renders the same text.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Iterable, Mapping, Optional, Sequence, cast

from ripcord.api import wording
from ripcord.api.times import parse_time as parse_time  # re-exported for the CLI modules
from ripcord.cli import gates

Obj = Mapping[str, Any]


# ---------------------------------------------------------------------------- access

def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    """``obj[path[0]][path[1]]...`` or ``default`` when any step is missing or null."""
    cur = obj
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, Sequence) or isinstance(cur, str) or not -len(cur) <= key < len(cur):
                return default
            cur = cur[key]
        else:
            if not isinstance(cur, Mapping) or cur.get(key) is None:
                return default
            cur = cur[key]
    return cur


def condition(release: Obj, type_: str) -> Optional[Obj]:
    for c in dig(release, "status", "conditions", default=[]):
        if isinstance(c, Mapping) and c.get("type") == type_:
            return c
    return None


def history_entry(release: Obj, rollout_id: Optional[int]) -> Optional[Obj]:
    for h in dig(release, "status", "history", default=[]):
        if rollout_id is None or h.get("id") == rollout_id:
            return cast(Obj, h)
    return None


def metric_spec(release: Obj, name: Optional[str]) -> Optional[Obj]:
    """The spec of an analysis metric by name (None for pod-health gates and unknown names)."""
    for m in dig(release, "spec", "analysis", "metrics", default=[]):
        if isinstance(m, Mapping) and m.get("name") == name:
            return m
    return None


# ---------------------------------------------------------------------------- time



def clock(t: Optional[dt.datetime]) -> str:
    """``14:30:05`` in UTC (reports state their date once, in the header)."""
    return t.astimezone(dt.timezone.utc).strftime("%H:%M:%S") if t else "-"


def stamp(t: Optional[dt.datetime]) -> str:
    """``2026-01-29 14:30:05`` in UTC."""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def duration(seconds: Optional[float]) -> str:
    """Compact and exact to the second, like kubectl's ages: ``45s``, ``2m05s``, ``1h02m``."""
    return wording.duration(seconds)


def between(a: Optional[dt.datetime], b: Optional[dt.datetime]) -> Optional[float]:
    return (b - a).total_seconds() if a and b else None


# ---------------------------------------------------------------------------- numbers
# One voice with the notifications and the engine's messages: ripcord.api.wording.

def number(v: Optional[float]) -> str:
    return wording.number(v)


def percent(v: Optional[float]) -> str:
    """A traffic share already in percent (weights)."""
    return wording.percent(v)


def metric_value(v: Optional[float], kind: Optional[str]) -> str:
    """A metric value in its natural unit: error ratios as percent, latencies in ms/s."""
    return wording.metric_value(v, kind)


def bound_text(bound: Optional[str], kind: Optional[str]) -> str:
    """A bound in the value's unit (``<= 0.05`` -> ``<= 5%`` for an error rate); the sequential
    judge's statistical bound (``ratio <= 1.1 (alpha 0.01)``) is shown as the judge wrote it."""
    return wording.bound_phrase(bound, kind)


def metric_kind(release: Obj, name: Optional[str]) -> Optional[str]:
    spec = metric_spec(release, name)
    if spec is None:
        return None
    return str(spec.get("type") or "error-rate")


# ---------------------------------------------------------------------------- tables

def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> str:
    """A kubectl-style table: upper-case headers, columns padded with three spaces."""
    cells = [[str(h) for h in headers]] + [["-" if c is None or c == "" else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        line = "   ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
        lines.append(indent + line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------- workloads

@dataclasses.dataclass(frozen=True)
class WorkloadPods:
    """One of the Release's Deployments as the cluster has it (read by the plugin's I/O side)."""

    deployment: str
    desired: int
    ready: int
    updated: int = 0
    version: str = ""


def workload_rows(release: Obj, deployments: Sequence[WorkloadPods]) -> list[list[str]]:
    """ROLE DEPLOYMENT VERSION READY rows; the role comes from status (stable/canary/previous) or spec (adopted)."""
    roles: dict[str, str] = {}
    for role in ("stable", "canary", "previous"):
        name = dig(release, "status", role, "deployment")
        if name:
            roles[name] = role
    adopted = dig(release, "spec", "workloadRef", "name")
    if adopted and adopted not in roles:
        roles[adopted] = "adopted"
    order = {"stable": 0, "canary": 1, "previous": 2, "adopted": 3}
    rows = []
    for d in sorted(deployments, key=lambda d: (order.get(roles.get(d.deployment, ""), 4), d.deployment)):
        role = roles.get(d.deployment, "idle" if d.desired == 0 else "-")
        rows.append([role, d.deployment, d.version or "-", f"{d.ready}/{d.desired}"])
    return rows


# ---------------------------------------------------------------------------- get

IMPORTANT_WHEN_TRUE = ("MetricsUnavailable", "NoVerdict", "WeightQuantised")


def _condition_lines(release: Obj) -> list[str]:
    lines = []
    for type_ in ("Ready", "Reconciling", "Stalled"):
        c = condition(release, type_)
        if c is not None:
            lines.append(f"{type_}={c.get('status')} ({c.get('reason', '')})")
    extra = []
    for type_ in IMPORTANT_WHEN_TRUE:
        c = condition(release, type_)
        if c is not None and c.get("status") == "True":
            extra.append(f"{type_}: {c.get('reason', '')}: {c.get('message', '')}")
    return ["  ".join(lines)] + extra if lines else extra


def steps_line(release: Obj) -> str:
    """``20% ✓ › 50% ◀ › promote``: where the rollout is among its steps."""
    weights = spec_weights(release)
    ro = dig(release, "status", "rollout")
    if not weights:
        return "-"
    parts = []
    for i, w in enumerate(weights):
        mark = ""
        if ro:
            step = int(ro.get("step") or 0)
            state = ro.get("state")
            if state in ("Promoting", "Watching") or i < step:
                mark = " ✓"
            elif i == step and state == "Progressing":
                mark = " ◀"
        parts.append(f"{w}%{mark}")
    last = "promote"
    if ro and ro.get("state") == "Promoting":
        last = "promote ◀"
    elif ro and ro.get("state") == "Watching":
        last = "watch ◀"
    return gates.steps_line(release, parts + [last])  # with the gate, mirror, pause steps and approval


def spec_weights(release: Obj) -> list[int]:
    """The canary weights the spec asks for, as the engine computes them (ReleaseSpec.weights)."""
    spec = dig(release, "spec", default={})
    steps = spec.get("steps")
    if steps:
        ws = [int(w) for w in steps if not isinstance(w, str) or w.isdigit()]  # pause steps hold, weigh nothing
    elif spec.get("stepWeight"):
        sw, top = int(spec["stepWeight"]), int(spec.get("maxWeight") or 50)
        ws = list(range(sw, top + 1, sw)) or [top]
    else:
        ws = [5, 10, 25, 50]
    return [w for w in ws if w < 100] or [50]


def analysis_rows(release: Obj) -> list[list[str]]:
    rows = []
    for m in dig(release, "status", "analysis", "metrics", default=[]):
        kind = metric_kind(release, m.get("name"))
        rows.append([m.get("name", "?"), m.get("verdict", "?"), metric_value(m.get("value"), kind),
                     metric_value(m.get("stableValue"), kind), bound_text(m.get("bound"), kind), m.get("message") or ""])
    return rows


def release_view(release: Obj, deployments: Sequence[WorkloadPods], now: dt.datetime) -> str:
    """The `get NAME` live view: what runs, at what weight, what the analysis says, and why."""
    meta, spec, st = release.get("metadata", {}), release.get("spec", {}), release.get("status") or {}
    out = [f"Name:        {meta.get('name')}",
           f"Namespace:   {meta.get('namespace')}",
           f"Version:     {spec.get('version', '-')} (stable {dig(st, 'stable', 'version', default='-')}"
           + (f", canary {dig(st, 'canary', 'version')}" if dig(st, "canary", "version") else "") + ")",
           f"Phase:       {st.get('phase') or '-'}" + (f" — {st['message']}" if st.get("message") else "")]
    gen, seen = meta.get("generation"), st.get("observedGeneration")
    if gen is not None and seen != gen:
        out.append(f"Generation:  {gen} not yet observed by the operator (observed {seen})")
    ro = st.get("rollout")
    if ro:
        started = parse_time(ro.get("startedAt"))
        flags = [f for f, on in (("paused", ro.get("paused") or spec.get("paused")), ("held", ro.get("held")),
                                 ("promote requested", ro.get("promoteRequested"))) if on]
        out.append(f"Rollout:     #{ro.get('id')} {ro.get('state')}, step {int(ro.get('step') or 0) + 1}/"
                   f"{len(spec_weights(release))}, started {stamp(started)} ({duration(between(started, now))} ago)"
                   + (f" [{', '.join(flags)}]" if flags else ""))
        out.append(f"Steps:       {steps_line(release)}")
        eff = ro.get("effectiveWeight", st.get("effectiveWeight"))
        out.append(f"Weight:      asked {percent(ro.get('weight'))}, effective {percent(eff)}")
        if ro.get("reason"):
            out.append(f"Reason:      {reason_text(ro['reason'], release)}")
        if st.get("watchUntil"):
            out.append(f"Watch until: {stamp(parse_time(st['watchUntil']))}")
        out.extend(gates.view_lines(release))
    elif st.get("lastOutcome"):
        last = (st.get("history") or [{}])[0]
        _, _, why = rollout_state(release, last)
        out.append(f"Last:        #{last.get('id', '?')} {last.get('version', '?')} "
                   f"{wording.outcome_words(last.get('outcome') or st['lastOutcome'])}" + (f" ({why})" if why else ""))
    cond_lines = _condition_lines(release)
    if cond_lines:
        out.append("Conditions:  " + cond_lines[0])
        out.extend("             " + line for line in cond_lines[1:])
    an = st.get("analysis") or {}
    if an.get("metrics") or an.get("verdict") or an.get("preflight"):
        at = parse_time(an.get("at"))
        label = "Analysis:    " if ro else "Last analysis (of the last rollout): "
        head = label + (an.get("verdict") or "no verdict yet")
        if at:
            head += f" at {clock(at)} ({duration(between(at, now))} ago)"
        if an.get("step") is not None:
            head += f", step {int(an['step']) + 1}"
        if an.get("failedChecks"):
            head += f", failed checks {an['failedChecks']}"
        out.append(head)
        if an.get("preflight"):
            out.append(f"             preflight: {an['preflight']}")
        rows = analysis_rows(release)
        if rows:
            out.append(table(["METRIC", "VERDICT", "CANARY", "STABLE", "BOUND", "MESSAGE"], rows, indent="  "))
    if deployments:
        out.append("Workloads:")
        out.append(table(["ROLE", "DEPLOYMENT", "VERSION", "READY"], workload_rows(release, deployments), indent="  "))
    return "\n".join(out)


def releases_table(releases: Sequence[Obj], now: dt.datetime, namespaces: bool = False) -> str:
    """`get` without a name: one line per Release, like `kubectl get releases -o wide`."""
    rows: list[list[Any]] = []
    for r in releases:
        st = r.get("status") or {}
        ro = st.get("rollout") or {}
        ready = (condition(r, "Ready") or {}).get("status", "-")
        created = parse_time(dig(r, "metadata", "creationTimestamp"))
        rows.append([dig(r, "metadata", "name"), ready, st.get("phase") or "-",
                     dig(st, "stable", "version", default="-"), dig(st, "canary", "version", default="-"),
                     percent(ro.get("weight")) if ro else "-",
                     f"{int(ro.get('step') or 0) + 1}/{len(spec_weights(r))}" if ro else "-",
                     st.get("lastOutcome") or "-", duration(between(created, now))])
        if namespaces:
            rows[-1].insert(0, dig(r, "metadata", "namespace"))
    headers = ["NAME", "READY", "PHASE", "STABLE", "CANARY", "WEIGHT", "STEP", "LAST", "AGE"]
    return table((["NAMESPACE"] if namespaces else []) + headers, rows)


# ---------------------------------------------------------------------------- history

def metric_judge(release: Obj, name: Optional[str]) -> Optional[str]:
    """The judge of an analysis metric (``sequential`` by default), None for pod-health gates."""
    spec = metric_spec(release, name)
    return None if spec is None else str(spec.get("judge") or "sequential")


def reason_text(reason: Optional[Obj], release: Obj) -> str:
    """``Metric: error-rate = 34% breached <= 2% at 50%``: the recorded reason in one voice."""
    if not reason:
        return ""
    kind = reason.get("kind", "")
    if reason.get("metric") and reason.get("value") is not None:
        mk = metric_kind(release, reason.get("metric"))
        return (f"{kind}: " + wording.breach(str(reason["metric"]), reason["value"], reason.get("bound"), mk)
                + (f" at {percent(reason['weight'])}" if reason.get("weight") is not None else ""))
    return f"{kind}: {reason.get('message', '')}"


def _timeline_message(entry: Obj, event: str) -> Optional[str]:
    for t in reversed(entry.get("timeline") or []):
        if isinstance(t, Mapping) and t.get("event") == event:
            return str(t.get("message") or "") or None
    return None


def rollout_state(release: Obj, entry: Obj) -> tuple[str, str, str]:
    """(outcome, duration note, reason) of a history entry as `history` shows it.

    The entry of the rollout in flight says ``Progressing`` whatever it is doing; the live
    ``status.rollout`` says more: held without a verdict (``Holding``), paused, promoting,
    in its post-promotion watch, rolling back. A rollout superseded by a newer template
    records no reason: its timeline says what superseded it.
    """
    outcome = str(entry.get("outcome") or "-")
    reason = reason_text(entry.get("reason"), release)
    ro = dig(release, "status", "rollout")
    if outcome == "Progressing" and isinstance(ro, Mapping) and ro.get("id") == entry.get("id"):
        if ro.get("held"):
            why = _timeline_message(entry, "NoVerdict") or "no verdict by analysis.maxDuration"
            return "Holding", " (held: no verdict)", reason or f"NoVerdict: {why}"
        if ro.get("paused") or dig(release, "spec", "paused"):
            return "Paused", " (paused)", reason
        if (held := gates.live_state(release)) is not None:
            return held[0], held[1], reason
        state = str(ro.get("state") or "Progressing")
        note = {"Promoting": " (promoting)", "Watching": " (watching)", "RollingBack": " (rolling back)"}.get(
            state, " (running)")
        if state == "RollingBack" and not reason:
            reason = reason_text(ro.get("reason"), release)
        return state, note, reason
    if outcome == "Superseded" and not reason:
        reason = "Superseded: " + _superseded_by(release, entry)
    return outcome, "" if entry.get("endedAt") else " (running)", reason


def _superseded_by(release: Obj, entry: Obj) -> str:
    """``a new template (rollout 3, 2.0.1) replaced it at 20%``."""
    rid = entry.get("id")
    newer = [h for h in dig(release, "status", "history", default=[])
             if isinstance(h, Mapping) and isinstance(h.get("id"), int) and isinstance(rid, int) and h["id"] > rid]
    nxt = min(newer, key=lambda h: h["id"]) if newer else None
    at = f" at {percent(entry['weightReached'])}" if entry.get("weightReached") is not None else ""
    if nxt is not None:
        return f"a new template (rollout {nxt['id']}, {nxt.get('version', '?')}) replaced it{at}"
    return f"the template changed{at}; " + (_timeline_message(entry, "Superseded") or "mid-rollout")


HISTORY_HEADERS = ["ID", "VERSION", "OUTCOME", "STARTED (UTC)", "DURATION", "STEP", "WEIGHT", "REASON"]


def _history_rows(release: Obj, now: dt.datetime) -> list[tuple[Optional[dt.datetime], list[Any]]]:
    rows = []
    for h in dig(release, "status", "history", default=[]):
        started, ended = parse_time(h.get("startedAt")), parse_time(h.get("endedAt"))
        took = between(started, ended if ended else now)
        outcome, note, reason = rollout_state(release, h)
        rows.append((started, [h.get("id"), h.get("version"), outcome, stamp(started), duration(took) + note,
                               h.get("stepReached", 0), percent(h.get("weightReached", 0)), reason]))
    return rows


def history_table(release: Obj, now: dt.datetime) -> str:
    """`history NAME`: one line per rollout, newest first, as `status.history` keeps them (at most 20)."""
    rows = [r for _, r in _history_rows(release, now)]
    if not rows:
        return "No rollouts recorded yet."
    return table(HISTORY_HEADERS, rows)


def histories_table(releases: Sequence[Obj], now: dt.datetime, namespaces: bool = False) -> str:
    """`history` without a name (or with -A): every Release's rollouts, newest first."""
    epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    rows: list[tuple[dt.datetime, list[Any]]] = []
    for r in releases:
        ident = ([dig(r, "metadata", "namespace")] if namespaces else []) + [dig(r, "metadata", "name")]
        rows += [(started or epoch, ident + row) for started, row in _history_rows(r, now)]
    if not rows:
        return "No rollouts recorded yet."
    rows.sort(key=lambda x: x[0], reverse=True)
    return table((["NAMESPACE"] if namespaces else []) + ["RELEASE"] + HISTORY_HEADERS, [r for _, r in rows])


def progress_line(release: Obj) -> str:
    """One log line for a watched rollout when output is not a terminal (CI logs): no ages, so
    it changes only when the rollout does and the caller can print it only then."""
    st = release.get("status") or {}
    ro = st.get("rollout") or {}
    parts = [st.get("phase") or "Pending"]
    if ro:
        parts.append(f"step {int(ro.get('step') or 0) + 1}/{len(spec_weights(release))}")
        parts.append(f"weight {percent(ro.get('weight'))} (effective {percent(ro.get('effectiveWeight'))})")
    an = st.get("analysis") or {}
    if ro and an.get("verdict"):
        metrics = ", ".join(f"{m.get('name')} {m.get('verdict')}" for m in an.get("metrics") or [])
        parts.append(f"analysis {an['verdict']}" + (f" [{metrics}]" if metrics else ""))
    gen, seen = dig(release, "metadata", "generation"), st.get("observedGeneration")
    if gen is not None and seen != gen:
        parts.append(f"generation {gen} not yet observed")
    if st.get("message"):
        parts.append(st["message"])
    return " | ".join(parts)
