"""What holds a rollout before its next weight or its promotion: pause steps, approval, confirm hooks.

A pause step (``steps: [5, pause, 25, "pause 10m", 50]``) holds the rollout at the weight
it follows once that step has passed (its duration, a verdict, a healthy canary): until
``kubectl ripcord resume`` (or ``promote``), or for its duration. The analysis keeps running
meanwhile, so a failing metric or pod still rolls back. ``requireApproval`` holds before
promotion (phase ``AwaitingApproval``) until ``kubectl ripcord promote``. A
``confirm-traffic-increase`` hook holds before each weight, ``confirm-promotion`` before
promotion, until they answer 2xx; the load test of the current phase must have been
accepted; and an unreachable rollback hook holds everything (it cannot say "abort" now).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional

from ripcord.api.models import PauseStatus, ReleaseSpec, ReleaseStatus
from ripcord.api.wording import duration as words_duration
from ripcord.engine import hooks
from ripcord.engine.context import Decision
from ripcord.engine.timefmt import iso, parse_iso


def held_before_step(d: Decision, spec: ReleaseSpec, step: int) -> bool:
    """True while something holds the move to weight step ``step`` (0-based)."""
    return (_pause(d, spec, step - 1) or _phase_unfinished(d, spec)
            or hooks.state(d, spec, "confirm-traffic-increase", f"confirm-traffic-increase/{step + 1}") != "open")


def held_before_promotion(d: Decision, spec: ReleaseSpec) -> bool:
    """True while something holds promotion after the last step passed."""
    ro = d.st.rollout
    assert ro is not None
    if _pause(d, spec, len(spec.weights()) - 1) or _phase_unfinished(d, spec):
        return True
    if spec.require_approval and not ro.promote_requested:
        if not ro.awaiting_approval:
            ro.awaiting_approval = True
            msg = f"every step passed at {ro.weight}%; promotion waits for approval (kubectl ripcord promote)"
            d.timeline("AwaitingApproval", msg, ro.weight)
            d.event("AwaitingApproval", f"rollout {ro.id}: {msg}")
        return True
    return not promotion_confirmed(d, spec)


def promotion_confirmed(d: Decision, spec: ReleaseSpec) -> bool:
    """confirm-promotion hooks answered 2xx (asking them if not yet)."""
    return hooks.state(d, spec, "confirm-promotion", "confirm-promotion") == "open"


def _phase_unfinished(d: Decision, spec: ReleaseSpec) -> bool:
    """The load test of the phase being judged is not accepted yet, or a rollback hook cannot be reached."""
    ro = d.st.rollout
    assert ro is not None
    if hooks.rollback_unreachable(d.st) is not None:
        return True
    if ro.weight == 0 and ro.mirror is None:
        return False  # nothing judged yet: no load test was asked for
    key = hooks.load_test_key(ro.step, ro.mirror is not None)
    return hooks.state(d, spec, "load-test", key) != "open"


def _pause(d: Decision, spec: ReleaseSpec, after: int) -> bool:
    """The pause step after weight step ``after`` (-1: before the first): start it, or hold while it lasts."""
    ro = d.st.rollout
    assert ro is not None
    pauses = spec.pauses()
    if after not in pauses or after in ro.pauses_done:
        return False
    if ro.pause is None or ro.pause.after_step != after:
        seconds = pauses[after]
        until = None if seconds is None else iso(d.now + dt.timedelta(seconds=seconds))
        ro.pause = PauseStatus(after_step=after, started_at=iso(d.now), until=until)
        how = "until resumed (kubectl ripcord resume, or promote)" if until is None else \
            f"for {words_duration(seconds)}, until {until}"
        where = "before the first step" if after < 0 else f"after step {after + 1}"
        msg = f"pause step {where}, at {ro.weight}%: holding {how}"
        d.timeline("PauseStarted", msg, ro.weight)
        d.event("PauseStarted", f"rollout {ro.id}: {msg}")
        return True
    if ro.pause.until is not None and d.now >= parse_iso(ro.pause.until):
        end_pause(d, f"its {words_duration(pauses[after])} are over")
        return False
    return True


def end_pause(d: Decision, why: str) -> None:
    """The pause step in progress ends (its time is over, or resumed by request)."""
    ro = d.st.rollout
    if ro is None or ro.pause is None:
        return
    ro.pauses_done.append(ro.pause.after_step)
    ro.pause = None
    d.timeline("PauseEnded", f"pause step ended: {why}", ro.weight)
    d.event("PauseEnded", f"rollout {ro.id}: pause step ended: {why}")


def pause_end_time(status: ReleaseStatus) -> Optional[dt.datetime]:
    ro = status.rollout
    if ro is None or ro.pause is None or ro.pause.until is None or ro.state != "Progressing":
        return None
    return parse_iso(ro.pause.until)


def times(status: ReleaseStatus) -> Iterable[dt.datetime]:
    t = pause_end_time(status)
    if t is not None:
        yield t
