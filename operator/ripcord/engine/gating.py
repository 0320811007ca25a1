"""The one door of the gates into the decision: fold the answers, ask what is next, say where it stands.

``decide`` calls :func:`fold` before the transitions (the gate's round and the webhook answers
read this cycle go into the status; a failed gate or pre-rollout hook, or a rollback hook's
2xx, starts the rollback there) and :func:`after` once they are done (rollback polls, load
tests and post-rollout calls to ask). :func:`summary` gives the phase and message while a
gate, a hook, a pause or the approval holds the rollout; :func:`times` when to look again.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from ripcord.api.models import ReleaseSpec, ReleaseStatus
from ripcord.contract import slot_service_name
from ripcord.engine import gate, holds, hooks
from ripcord.engine.context import Decision

#: A call or round due "now" is made on the reconcile right after this one.
SOON_S = 0.05


def fold(d: Decision, spec: ReleaseSpec) -> None:
    gate.fold_gate(d, spec, d.obs.gate)
    hooks.fold_hooks(d, spec, d.obs.hooks)  # after a rollback above, only recorded (nothing rolls back twice)


def after(d: Decision, spec: ReleaseSpec) -> None:
    was = d.obs.status.rollout
    hooks.request_periodic(d, spec, was.id if was is not None else None)


def times(status: ReleaseStatus, spec: ReleaseSpec, now: dt.datetime) -> list[dt.datetime]:
    """When the next gate round, webhook call or pause end is due (never earlier than just after ``now``)."""
    out: list[dt.datetime] = []
    soon = now + dt.timedelta(seconds=SOON_S)
    nxt = gate.next_round_at(status, spec)
    if nxt is not None:
        out.append(nxt)
    out.extend(hooks.next_times(status, spec))
    out.extend(holds.times(status))
    return [max(t, soon) for t in out]


def summary(d: Decision, spec: ReleaseSpec) -> Optional[tuple[str, str, str]]:
    """(phase, reason, message) while the rollout in flight is gated, paused or awaiting approval; else None."""
    st = d.st
    ro, canary = st.rollout, st.canary
    if ro is None or ro.state != "Progressing" or canary is None:
        return None
    head = f"rollout {ro.id}: canary {canary.version}"
    if ro.awaiting_approval and not ro.promote_requested:
        return ("AwaitingApproval", "AwaitingApproval",
                f"{head} passed every step at {ro.weight}%; approve the promotion with "
                f"kubectl ripcord promote {d.obs.name}")
    if ro.pause is not None:
        until = f"until {ro.pause.until}" if ro.pause.until else \
            f"until resumed (kubectl ripcord resume {d.obs.name}, or promote)"
        return "Paused", "PauseStep", f"{head} at {ro.weight}%: pause step, {until}"
    waiting = hooks.waiting_on(d, spec)
    if waiting is not None and waiting.type in hooks.HOLDING:
        return ("Waiting", "AwaitingConfirmation",
                f"{head} at {ro.weight}%: waiting for the {waiting.type} webhook {waiting.name} to answer 2xx "
                f"(last: {waiting.message})")
    unreachable = hooks.rollback_unreachable(st)
    if unreachable is not None:
        return ("Waiting", "WebhookUnreachable",
                f"{head} held at {ro.weight}%: the rollback webhook {unreachable.name} gives no answer "
                f"({unreachable.message})")
    if ro.gate is not None and ro.gate.passed_at is None and spec.gate is not None:
        return ("Progressing", "Gating",
                f"{head} at 0%: pre-traffic gate on {slot_service_name(d.obs.name, canary.slot)}, "
                f"{ro.gate.passes}/{spec.gate.successes} rounds passed in a row (round {ro.gate.rounds})")
    if ro.mirror is not None:
        return ("Progressing", "Mirroring",
                f"{head} at 0%: judged on {ro.mirror}% of live requests, mirrored (answers discarded)")
    return None

