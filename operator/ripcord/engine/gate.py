"""The built-in pre-traffic gate: requests to the canary's own Service before its weight leaves 0.

Once the canary is Ready, every ``gate.interval`` a *round* sends every request of
``spec.gate.requests`` (the edge makes them, with hard timeouts, at the address the
operator's configuration derives from the canary's Service). A request passes when its
status is one of ``expect`` and, with ``maxLatency``, it answered in time; a request that
got no answer (refused, timed out, not reachable) fails: an unreachable canary is never a
pass. ``successes`` passed rounds in a row pass the gate; ``failures`` failed rounds in a
row roll back, with a reason naming the request and the response (status, latency, the
first bytes of the body). Rounds are planned from the recorded status (the time of the
last round), so a restarted operator sends the next round, not the last one again.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional

from ripcord.api.models import GateCheck, GateRequest, GateStatus, ReleaseSpec, ReleaseStatus, RollbackReason, \
    parse_duration
from ripcord.contract import slot_service_name
from ripcord.engine.calls import GateRead, GateRound, Reply
from ripcord.engine.context import Decision
from ripcord.engine.rollback import start_rollback
from ripcord.engine.timefmt import iso, parse_iso

BODY_SHOWN = 120  # characters of a failing answer's body in messages


def service_port(spec: ReleaseSpec) -> int:
    """The Service port the gate calls: ``gate.port`` by name, else the first."""
    ports = spec.service.ports
    wanted = spec.gate.port if spec.gate is not None else None
    return next((p.port for p in ports if p.name == wanted), ports[0].port)


def gate_read(status: ReleaseStatus, spec: ReleaseSpec, now: dt.datetime, name: str) -> Optional[GateRead]:
    """The round due now, if any: the gate has started, has not ended, and its interval has passed."""
    ro, canary = status.rollout, status.canary
    if spec.gate is None or ro is None or canary is None or ro.state != "Progressing":
        return None
    g = ro.gate
    if g is None or g.passed_at is not None or ro.weight != 0:
        return None
    if g.last_round_at is not None and now.timestamp() < g.last_round_at + parse_duration(spec.gate.interval):
        return None
    return GateRead(rollout_id=ro.id, round=g.rounds + 1, service=slot_service_name(name, canary.slot),
                    port=service_port(spec), requests=tuple(spec.gate.requests),
                    timeout_s=parse_duration(spec.gate.timeout))


def next_round_at(status: ReleaseStatus, spec: ReleaseSpec) -> Optional[dt.datetime]:
    ro = status.rollout
    if spec.gate is None or ro is None or ro.state != "Progressing" or ro.gate is None or ro.gate.passed_at:
        return None
    last = ro.gate.last_round_at
    if last is None:
        return parse_iso(ro.gate.started_at)
    return dt.datetime.fromtimestamp(last + parse_duration(spec.gate.interval), dt.timezone.utc)


def judge(request: GateRequest, reply: Reply) -> GateCheck:
    """Whether one reply passes its request's expectations, and the sentence that says why."""
    label = request.label()
    if reply.status is None:
        return GateCheck(request=label, passed=False, latency_ms=reply.latency_ms,
                         message=f"{label} got no answer: {reply.error or 'unreachable'}"[:1024])
    took = f" in {reply.latency_ms:.0f} ms" if reply.latency_ms is not None else ""
    body = " ".join(reply.body_head.split())[:BODY_SHOWN]
    said = f": {body!r}" if body else ""
    if not status_matches(reply.status, request.expect):
        return GateCheck(request=label, passed=False, status=reply.status, latency_ms=reply.latency_ms,
                         message=f"{label} answered {reply.status}{took} (expected {', '.join(request.expect)})"
                                 f"{said}"[:1024])
    if request.max_latency is not None and reply.latency_ms is not None \
            and reply.latency_ms > 1000 * parse_duration(request.max_latency):
        return GateCheck(request=label, passed=False, status=reply.status, latency_ms=reply.latency_ms,
                         message=f"{label} answered {reply.status}{took}, slower than {request.max_latency}"[:1024])
    return GateCheck(request=label, passed=True, status=reply.status, latency_ms=reply.latency_ms,
                     message=f"{label} answered {reply.status}{took}")


def status_matches(status: int, expect: Iterable[str]) -> bool:
    """``expect`` holds codes (``200``) and classes (``2xx``)."""
    for e in expect:
        if e.endswith("xx") and str(status)[:1] == e[0] and 100 <= status <= 599:
            return True
        if e.isdigit() and int(e) == status:
            return True
    return False


def start_gate(d: Decision, spec: ReleaseSpec) -> None:
    """The canary is Ready: the gate begins (its first round is due at once)."""
    ro = d.st.rollout
    assert ro is not None and spec.gate is not None
    ro.gate = GateStatus(started_at=iso(d.now))
    n = len(spec.gate.requests)
    d.timeline("GateStarted", f"canary ready; pre-traffic gate: {n} request{'s' if n != 1 else ''} to the "
               f"canary's Service, {spec.gate.successes} round{'s' if spec.gate.successes != 1 else ''} in a row "
               f"must pass", 0)


def gate_passed(d: Decision, spec: ReleaseSpec) -> bool:
    """True once the gate has passed (or there is none); starts it when first asked (the canary is Ready)."""
    ro = d.st.rollout
    if spec.gate is None or ro is None:
        return True
    if ro.gate is None:
        start_gate(d, spec)
        return False
    return ro.gate.passed_at is not None


def fold_gate(d: Decision, spec: ReleaseSpec, round_: Optional[GateRound]) -> bool:
    """Record a round's replies; pass the gate or roll back. True when a rollback started."""
    ro = d.st.rollout
    if round_ is None or spec.gate is None or ro is None or ro.gate is None or ro.state != "Progressing":
        return False
    g = ro.gate
    if round_.rollout_id != ro.id or round_.round != g.rounds + 1 or g.passed_at is not None:
        return False  # an answer to another rollout or round: the status moved on
    checks = [judge(r, rep) for r, rep in zip(spec.gate.requests, round_.replies)]
    checks += [GateCheck(request=r.label(), passed=False, message=f"{r.label()} got no answer: not sent")
               for r in spec.gate.requests[len(round_.replies):]]
    g.rounds, g.last_round_at, g.checks = round_.round, d.now.timestamp(), checks
    failed = next((c for c in checks if not c.passed), None)
    if failed is None:
        g.passes, g.failures = g.passes + 1, 0
        if g.passes >= spec.gate.successes:
            g.passed_at = iso(d.now)
            msg = (f"pre-traffic gate passed: {g.passes} round{'s' if g.passes != 1 else ''} in a row "
                   f"({'; '.join(c.message for c in checks)})")
            d.timeline("GatePassed", msg[:1024], 0)
            d.event("GatePassed", f"rollout {ro.id}: {msg}")
        return False
    g.passes, g.failures = 0, g.failures + 1
    if g.failures < spec.gate.failures:
        d.timeline("GateRoundFailed", f"round {g.rounds}: {failed.message} "
                   f"({g.failures}/{spec.gate.failures} failed rounds in a row)"[:1024], 0)
        return False
    request = next(r for r in spec.gate.requests if r.label() == failed.request)
    start_rollback(d, spec, RollbackReason(
        kind="Gate", message=f"pre-traffic gate: {failed.message}"[:1024], metric=failed.request,
        value=None if failed.status is None else float(failed.status), bound=", ".join(request.expect),
        weight=0, at=iso(d.now)))
    return True
