"""Gating webhooks (``spec.webhooks``): calls that decide, with Flagger's meanings.

=========================  ===========================================  =================================
type                       called                                       its answer
=========================  ===========================================  =================================
confirm-rollout            before the canary is scaled up               2xx: go on; else hold, ask again
pre-rollout                once the canary is Ready (after the gate),   2xx: go on; no 2xx after its
                           before any traffic                           retries: roll back
confirm-traffic-increase   before each weight increase (the first too)  2xx: go on; else hold, ask again
confirm-promotion          before promotion                             2xx: go on; else hold, ask again
load-test                  at the start of each judged phase (mirror,   2xx: go on; no 2xx after its
                           each step), to send traffic to the canary    retries: roll back
rollback                   polled while a rollout runs                  2xx: roll back; no answer: hold
post-rollout               after the rollout ended (promoted, rolled    recorded; retried, never decides
                           back, aborted)
=========================  ===========================================  =================================

The engine records each call in ``status.webhooks`` (attempts, the last answer, the
result) and plans the calls due from there (:func:`hook_reads`): a restarted operator asks
again only what has no final answer, at its interval. A webhook that cannot be reached is
never a pass: a confirm-* hook keeps holding, a pre-rollout or load-test hook fails after
its retries, and an unreachable rollback hook holds the rollout where it is.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Literal, Optional

from ripcord.api.models import GatingWebhook, ReleaseSpec, ReleaseStatus, RollbackReason, TimelineEntry, WebhookCall, \
    parse_duration
from ripcord.contract import slot_service_name
from ripcord.engine.calls import HookRead, HookReply
from ripcord.engine.context import TIMELINE_LIMIT, Decision
from ripcord.engine.rollback import start_rollback
from ripcord.engine.timefmt import iso

HOLDING = ("confirm-rollout", "confirm-traffic-increase", "confirm-promotion")
RETRIED = ("pre-rollout", "load-test", "post-rollout")
FINAL = ("Passed", "Failed")
CALLS_KEPT = 64
IN_FLIGHT = ("Progressing", "Promoting", "Watching")
#: Outcomes a post-rollout hook is told about (a superseded rollout goes on as the next one).
POST_ROLLOUT_OUTCOMES = ("Promoted", "RolledBack", "Aborted", "Failed")

State = Literal["open", "waiting", "failed"]


def hooks_of(spec: ReleaseSpec, type_: str) -> list[GatingWebhook]:
    return [h for h in spec.webhooks if h.type == type_]


def call_of(status: ReleaseStatus, rollout_id: int, name: str, key: str) -> Optional[WebhookCall]:
    return next((c for c in status.webhooks if c.rollout_id == rollout_id and c.name == name and c.key == key), None)


def ensure(d: Decision, spec: ReleaseSpec, type_: str, key: str, rollout_id: int) -> list[WebhookCall]:
    """The calls of every ``type_`` hook for ``key``, created (Pending: due at once) where missing."""
    calls = []
    for hook in hooks_of(spec, type_):
        call = call_of(d.st, rollout_id, hook.name, key)
        if call is None:
            call = WebhookCall(name=hook.name, type=type_, rollout_id=rollout_id, key=key)
            d.st.webhooks.append(call)
            _prune(d)
        calls.append(call)
    return calls


def state(d: Decision, spec: ReleaseSpec, type_: str, key: str) -> State:
    """Whether the hooks of ``type_`` let the rollout in flight go on past ``key`` (asking them if not yet)."""
    ro = d.st.rollout
    if ro is None or not hooks_of(spec, type_):
        return "open"
    calls = ensure(d, spec, type_, key, ro.id)
    if any(c.result == "Failed" for c in calls):
        return "failed"
    return "open" if all(c.result == "Passed" for c in calls) else "waiting"


def waiting_on(d: Decision, spec: ReleaseSpec) -> Optional[WebhookCall]:
    """A confirm-* or load-test call of the rollout in flight that has been asked and holds it, if any."""
    ro = d.st.rollout
    if ro is None:
        return None
    return next((c for c in d.st.webhooks if c.rollout_id == ro.id and c.type in HOLDING + ("load-test",)
                 and c.result == "Waiting"), None)


def rollback_unreachable(status: ReleaseStatus) -> Optional[WebhookCall]:
    """A rollback hook of the rollout in flight whose last call got no answer: the rollout holds."""
    ro = status.rollout
    if ro is None:
        return None
    return next((c for c in status.webhooks if c.rollout_id == ro.id and c.type == "rollback" and c.attempts > 0
                 and c.status is None and c.result != "Passed"), None)


def confirmed_rollout(status: ReleaseStatus, spec: ReleaseSpec) -> bool:
    """Every confirm-rollout hook answered 2xx for the rollout in flight (the canary may be scaled up)."""
    ro = status.rollout
    if ro is None or not hooks_of(spec, "confirm-rollout"):
        return True
    return all((c := call_of(status, ro.id, h.name, "confirm-rollout")) is not None and c.result == "Passed"
               for h in hooks_of(spec, "confirm-rollout"))


# ----------------------------------------------------------------------------- what to call now

def _next_at(call: WebhookCall, hook: GatingWebhook) -> Optional[float]:
    """Unix time the call is due (None: it has its final answer)."""
    if call.result in FINAL:
        return None
    if call.attempts == 0 or call.last_at is None:
        return 0.0
    return call.last_at + parse_duration(hook.interval)


def _live(status: ReleaseStatus, call: WebhookCall) -> bool:
    """Calls of the rollout in flight, and post-rollout calls of ended ones, are made; others are stale."""
    ro = status.rollout
    if call.type == "post-rollout":
        return ro is None or ro.id != call.rollout_id
    if ro is None or ro.id != call.rollout_id:
        return False
    if call.type == "rollback":
        return ro.state in IN_FLIGHT
    return ro.state == "Progressing"


def hook_reads(status: ReleaseStatus, spec: ReleaseSpec, now: dt.datetime, name: str) -> tuple[HookRead, ...]:
    """The calls due now, in the order they were asked for."""
    by_name = {h.name: h for h in spec.webhooks}
    out = []
    for call in status.webhooks:
        hook = by_name.get(call.name)
        if hook is None or hook.type != call.type or not _live(status, call):
            continue
        due = _next_at(call, hook)
        if due is None or due > now.timestamp():
            continue
        canary = status.canary if status.rollout is not None and status.rollout.id == call.rollout_id else None
        out.append(HookRead(rollout_id=call.rollout_id, name=hook.name, type=hook.type, key=call.key, url=hook.url,
                            timeout_s=parse_duration(hook.timeout), attempt=call.attempts + 1,
                            payload=_payload(status, spec, name, hook, call),
                            service=slot_service_name(name, canary.slot) if canary is not None else None,
                            port=spec.service.ports[0].port if canary is not None else None))
    return tuple(out)


def _payload(status: ReleaseStatus, spec: ReleaseSpec, name: str, hook: GatingWebhook,
             call: WebhookCall) -> dict[str, Any]:
    """The JSON body (Flagger's fields, and Ripcord's rollout): the edge adds the namespace and canary address."""
    body: dict[str, Any] = {"name": name, "phase": hook.type, "type": hook.type, "key": call.key,
                            "rolloutId": call.rollout_id, "attempt": call.attempts + 1, "metadata": dict(hook.metadata)}
    ro, canary, stable = status.rollout, status.canary, status.stable
    if ro is not None and ro.id == call.rollout_id:
        body.update(step=ro.step + 1, weight=ro.weight, mirror=ro.mirror or 0,
                    stepDuration=spec.analysis.step_duration)
        if canary is not None:
            body["version"] = canary.version
            body["canary"] = {"deployment": canary.deployment, "service": slot_service_name(name, canary.slot)}
    entry = next((h for h in status.history if h.id == call.rollout_id), None)
    if entry is not None:
        body.setdefault("version", entry.version)
        if call.type == "post-rollout":
            body["outcome"] = entry.outcome
            if entry.reason is not None:
                body["reason"] = entry.reason.message
    if stable is not None:
        body["stableVersion"] = stable.version
    return body


def next_times(status: ReleaseStatus, spec: ReleaseSpec) -> Iterable[dt.datetime]:
    by_name = {h.name: h for h in spec.webhooks}
    for call in status.webhooks:
        hook = by_name.get(call.name)
        if hook is None or hook.type != call.type or not _live(status, call):
            continue
        due = _next_at(call, hook)
        if due is not None:
            yield dt.datetime.fromtimestamp(due, dt.timezone.utc)


# ----------------------------------------------------------------------------- answers

def fold_hooks(d: Decision, spec: ReleaseSpec, replies: Iterable[HookReply]) -> None:
    """Record the answers; a failed pre-rollout or load-test hook, or a rollback hook's 2xx, rolls back."""
    by_name = {h.name: h for h in spec.webhooks}
    for r in replies:
        call = call_of(d.st, r.rollout_id, r.name, r.key)
        hook = by_name.get(r.name)
        if call is None or hook is None or call.result in FINAL:
            continue
        before = call.result
        was_unreachable = call.attempts > 0 and call.status is None
        call.attempts += 1
        call.last_at = d.now.timestamp()
        call.status = r.reply.status
        call.message = _said(r.reply)
        if call.type == "rollback":
            _rollback_answer(d, spec, call, was_unreachable)
            continue
        if r.reply.ok:
            call.result = "Passed"
            _record(d, call, "WebhookPassed", f"{_what(call)}: {call.message}")
        elif call.type in RETRIED and call.attempts > hook.retries:
            call.result = "Failed"
            _record(d, call, "WebhookFailed", f"{_what(call)} failed after {call.attempts} "
                    f"attempt{'s' if call.attempts != 1 else ''}: {call.message}", warning=True)
            if call.type in ("pre-rollout", "load-test"):
                _roll_back(d, spec, call, f"{_what(call)} failed after {call.attempts} "
                                          f"attempt{'s' if call.attempts != 1 else ''}: {call.message}")
        else:
            call.result = "Waiting"
            if before == "Pending":
                what = "holding; asking again" if call.type in HOLDING else "retrying"
                _record(d, call, "WebhookWaiting", f"{_what(call)}: {call.message}; {what} "
                        f"every {hook.interval}")


def _rollback_answer(d: Decision, spec: ReleaseSpec, call: WebhookCall, was_unreachable: bool) -> None:
    if call.status is not None and 200 <= call.status < 300:
        call.result = "Passed"
        _record(d, call, "WebhookRollback", f"{_what(call)}: {call.message}: rolling back")
        _roll_back(d, spec, call, f"{_what(call)} asked for it ({call.message})")
        return
    call.result = "Waiting"
    if call.status is None and not was_unreachable:
        _record(d, call, "WebhookUnreachable", f"{_what(call)}: {call.message}; holding the rollout "
                f"where it is until it answers", warning=True)
    elif call.status is not None and was_unreachable:
        _record(d, call, "WebhookReachable", f"{_what(call)} answers again ({call.message})")


def _roll_back(d: Decision, spec: ReleaseSpec, call: WebhookCall, message: str) -> None:
    ro = d.st.rollout
    if ro is None or ro.id != call.rollout_id or ro.state not in IN_FLIGHT:
        return
    start_rollback(d, spec, RollbackReason(kind="Webhook", message=message[:1024], metric=call.name,
                                           weight=ro.weight, at=iso(d.now)))


def _what(call: WebhookCall) -> str:
    """``load-test webhook hey (step 2)``: the call in words."""
    _, _, on = call.key.partition("/")
    where = "" if not on else " (mirror phase)" if on == "mirror" else f" (step {on})"
    return f"{call.type} webhook {call.name}{where}"


def _said(reply: Any) -> str:
    if reply.status is None:
        return f"no answer ({reply.error or 'unreachable'})"[:1024]
    body = " ".join(reply.body_head.split())[:120]
    return f"answered {reply.status}" + (f": {body!r}" if body else "")


def _record(d: Decision, call: WebhookCall, event: str, message: str, warning: bool = False) -> None:
    """The call's outcome in its rollout's timeline (the history entry, also after the rollout ended)."""
    entry = next((h for h in d.st.history if h.id == call.rollout_id), None)
    ro = d.st.rollout
    weight = ro.weight if ro is not None and ro.id == call.rollout_id else None
    if entry is not None:
        entry.timeline.append(TimelineEntry(at=iso(d.now), event=event, weight=weight, message=message[:1024]))
        del entry.timeline[:-TIMELINE_LIMIT]
    if event != "WebhookPassed" or call.type in ("pre-rollout", "confirm-rollout", "confirm-promotion"):
        d.event(event, f"rollout {call.rollout_id}: {message}", warning=warning)


# ----------------------------------------------------------------------------- asking

def request_periodic(d: Decision, spec: ReleaseSpec, was_rollout: Optional[int]) -> None:
    """After the transitions: the rollback polls and load tests of the rollout in flight, the post-rollout
    calls of one that just ended, and the list kept short."""
    st = d.st
    ro = st.rollout
    if ro is not None and ro.state in IN_FLIGHT:
        ensure(d, spec, "rollback", "rollback", ro.id)
        if ro.state == "Progressing" and (ro.mirror is not None or ro.weight > 0):
            ensure(d, spec, "load-test", load_test_key(ro.step, ro.mirror is not None), ro.id)
    if was_rollout is not None and (ro is None or ro.id != was_rollout):
        entry = next((h for h in st.history if h.id == was_rollout), None)
        if entry is not None and entry.outcome in POST_ROLLOUT_OUTCOMES:
            ensure(d, spec, "post-rollout", "post-rollout", was_rollout)
    _prune(d)


def load_test_key(step: int, mirror: bool) -> str:
    return "load-test/mirror" if mirror else f"load-test/{step + 1}"


def _prune(d: Decision) -> None:
    """Drop what will never be called again: calls of other rollouts, except unfinished post-rollout calls."""
    st = d.st
    ro = st.rollout
    st.webhooks = [c for c in st.webhooks
                   if (ro is not None and c.rollout_id == ro.id) or (c.type == "post-rollout" and c.result not in FINAL)
                   or (c.type == "post-rollout" and st.history and c.rollout_id == st.history[0].id)]
    del st.webhooks[:-CALLS_KEPT]
