"""Conditions in the metav1.Condition shape, as kstatus and Argo CD read them."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from ripcord.api.limits import CONDITION_MESSAGE_MAX, bounded
from ripcord.api.models import Condition


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(conditions: list[Condition], type_: str, status: str, reason: str, message: str,
                  now: dt.datetime, generation: Optional[int]) -> None:
    """Set or add a condition; lastTransitionTime moves only when the status changes."""
    for i, cond in enumerate(conditions):
        if cond.type == type_:
            changed = cond.status != status
            conditions[i] = Condition(type=type_, status=status, reason=reason, message=message,  # type: ignore[arg-type]
                                      last_transition_time=_iso(now) if changed else cond.last_transition_time,
                                      observed_generation=generation)
            return
    conditions.append(Condition(type=type_, status=status, reason=reason, message=message,  # type: ignore[arg-type]
                                last_transition_time=_iso(now), observed_generation=generation))


def get_condition(conditions: list[Condition], type_: str) -> Optional[Condition]:
    return next((c for c in conditions if c.type == type_), None)


def holds(conditions: list[Condition], type_: str, status: str, message: str, reason: Optional[str] = None) -> bool:
    """Whether the condition is already set so (its message as the status stores it: bounded)."""
    stored = bounded(message, CONDITION_MESSAGE_MAX)
    return any(c.type == type_ and c.status == status and c.message == stored and (reason is None or c.reason == reason)
               for c in conditions)
