"""Manual actions: ``ripcord.dev/<action>: <rollout-id>/<nonce>`` annotations on the Release.

Why annotations and not spec or status: a GitOps tool owns the spec (a field written here
would be reverted, or drift), and Kopf does not react to status changes. Annotations
trigger the operator and are not in Git. Why a rollout id: a request is for the rollout
the user was looking at; the engine ignores (with an Event) a request naming another one,
so a late "promote" never promotes the next version. Why a nonce: the same action twice
for the same rollout (pause, resume, pause) must read as two requests; the engine acts on
a value once and records it in ``status.acknowledged.<action>``.

The pure helpers decide the value and judge the outcome; :func:`request` and
:func:`wait_acknowledged` are the only functions here that talk to the API server.
"""
from __future__ import annotations

import dataclasses
import secrets
import time
from typing import Any, Callable, Literal, Optional

from ripcord.cli.render import Obj, dig
from ripcord.contract import GROUP, PLURAL, PREFIX, VERSION

Action = Literal["promote", "abort", "pause", "resume", "retry", "drill"]
ACTIONS: tuple[Action, ...] = ("promote", "abort", "pause", "resume", "retry", "drill")

__all__ = ["GROUP", "PLURAL", "VERSION", "ACTIONS", "ActionError"]


class ActionError(Exception):
    """The action cannot be asked for now (no rollout in flight, nothing to retry)."""


def annotation(action: str) -> str:
    return PREFIX + action


def new_nonce() -> str:
    """Eight hex digits from the OS's CSPRNG: unique per request in practice, short to read."""
    return secrets.token_hex(4)


def target_rollout(release: Obj, action: Action) -> int:
    """The rollout id the request names: the one in flight, or for ``retry`` the latest one."""
    status = release.get("status") or {}
    if action == "drill":
        if status.get("rollout"):
            raise ActionError(f"rollout {status['rollout'].get('id')} is in flight; a drill runs at rest")
        if not status.get("stable"):
            raise ActionError("nothing is installed yet: there is no stable to drill")
        return int((status.get("history") or [{"id": 0}])[0]["id"])
    if action == "retry":
        history = status.get("history") or []
        if not history:
            raise ActionError("nothing to retry: no rollout has been recorded")
        if status.get("rollout"):
            raise ActionError(f"rollout {status['rollout'].get('id')} is in flight; retry applies to a rolled-back "
                              "release at rest")
        if not status.get("stalledTemplateHash"):
            raise ActionError(f"nothing to retry: rollout {history[0].get('id')} ended {history[0].get('outcome')} "
                              "and no rolled-back template is being held back")
        return int(history[0]["id"])
    ro = status.get("rollout")
    if not ro:
        last = (status.get("history") or [{}])[0]
        ended = f" (the last one, {last.get('id')}, ended {last.get('outcome')})" if last.get("id") else ""
        raise ActionError(f"no rollout in flight to {action}{ended}")
    return int(ro["id"])


def request_value(rollout_id: int, nonce: str) -> str:
    return f"{rollout_id}/{nonce}"


def annotation_patch(action: Action, value: str) -> dict[str, Any]:
    """A JSON merge patch touching only this annotation."""
    return {"metadata": {"annotations": {annotation(action): value}}}


def acknowledged(release: Obj, action: Action) -> Optional[str]:
    value = dig(release, "status", "acknowledged", action)
    return str(value) if value is not None else None


@dataclasses.dataclass(frozen=True)
class Effect:
    applied: bool
    message: str


def _timeline(release: Obj, rollout_id: int) -> list[Obj]:
    for h in dig(release, "status", "history", default=[]):
        if h.get("id") == rollout_id:
            return list(h.get("timeline") or [])
    return []


def effect(release: Obj, action: Action, rollout_id: int) -> Effect:
    """Did the operator act on an acknowledged request? Judged from the status it wrote with the ack.

    The engine records the acknowledgement and the action's effect in the same status write,
    so a status that carries our value also shows whether anything happened.
    """
    st = release.get("status") or {}
    ro = st.get("rollout") or {}
    current = ro.get("id") == rollout_id
    entry: Obj = next((h for h in st.get("history") or [] if h.get("id") == rollout_id), {})
    events = {t.get("event") for t in _timeline(release, rollout_id)}
    if action == "drill":
        drill = drill_entry(release, rollout_id)
        if drill is not None:
            return Effect(True, f"drill {drill.get('id')} started")
        return Effect(False, "drill not started (kubectl describe release shows the DrillRefused Event and why)")
    if action == "retry":
        if st.get("stalledTemplateHash"):
            return Effect(False, f"retry of rollout {rollout_id} ignored: the operator still holds the template back "
                                 "(a newer rollout may have been recorded)")
        return Effect(True, f"rollout {rollout_id}'s template may roll out again")
    if action == "abort":
        reason = (ro.get("reason") if current else None) or entry.get("reason") or {}
        if reason.get("kind") == "Manual":
            return Effect(True, f"rollout {rollout_id} is being aborted" if current else f"rollout {rollout_id} aborted")
        return Effect(False, f"abort ignored: rollout {rollout_id} was already "
                             f"{ro.get('state') if current else entry.get('outcome', 'over')}")
    if action == "promote":
        if "PromoteRequested" in events or (current and ro.get("promoteRequested")):
            return Effect(True, f"rollout {rollout_id} will promote at its next decision")
        return Effect(False, f"promote ignored: rollout {rollout_id} is "
                             f"{ro.get('state') if current else entry.get('outcome', 'over')}")
    if action == "pause":
        if current and ro.get("paused"):
            return Effect(True, f"rollout {rollout_id} is paused at {ro.get('weight')}%")
        return Effect(False, f"pause ignored: rollout {rollout_id} is "
                             f"{ro.get('state') if current else entry.get('outcome', 'over')}")
    # resume
    if current and not ro.get("paused"):
        if dig(release, "spec", "paused"):
            return Effect(True, f"rollout {rollout_id} resumed, but spec.paused is true: it stays paused until "
                                "spec.paused is false (change it where the spec is kept, e.g. Git)")
        return Effect(True, f"rollout {rollout_id} is running")
    return Effect(False, f"resume ignored: rollout {rollout_id} is "
                         f"{'still paused' if current else entry.get('outcome', 'over')}")


def drill_entry(release: Obj, after: int) -> Optional[Obj]:
    """The history entry of the drill started after rollout ``after`` (the one the request named)."""
    return next((h for h in dig(release, "status", "history", default=[])
                 if h.get("drill") and int(h.get("id") or 0) > after), None)


# ---------------------------------------------------------------------------- I/O

def request(custom: Any, release: Obj, action: Action, nonce: Optional[str] = None) -> tuple[int, str]:
    """Write the annotation for the rollout ``release`` (just read) shows; returns (rollout id, value).

    No resourceVersion precondition: the status changes every few seconds during a rollout, so
    a conflict would be the rule. A request that lands after its rollout ended is harmless: the
    engine ignores a rollout id that is not the current one.
    """
    rid = target_rollout(release, action)
    value = request_value(rid, nonce or new_nonce())
    meta = release["metadata"]
    custom.patch_namespaced_custom_object(GROUP, VERSION, meta["namespace"], PLURAL, meta["name"],
                                          annotation_patch(action, value))
    return rid, value


def wait_acknowledged(get: Callable[[], Obj], action: Action, value: str, timeout: float,
                      interval: float = 0.5, sleep: Callable[[float], None] = time.sleep,
                      monotonic: Callable[[], float] = time.monotonic) -> Optional[Obj]:
    """Poll until ``status.acknowledged.<action>`` equals ``value``; the Release then, or None on timeout."""
    deadline = monotonic() + timeout
    while True:
        release = get()
        if acknowledged(release, action) == value:
            return release
        if monotonic() >= deadline:
            return None
        sleep(min(interval, max(0.0, deadline - monotonic())))
