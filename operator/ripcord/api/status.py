"""Reading a status that another Ripcord version may have written: ``parse_status(raw) -> ParsedStatus``.

After an upgrade and a rollback, the older operator reads a status written by the newer
one. That must never crash a reconcile, and must never let the older operator act on a
state it does not understand:

* unknown fields are ignored (the status models ignore extras);
* enum-like values this version does not know are kept verbatim (they are plain strings
  in the models; the schema lists the known ones): an unknown history ``outcome`` or
  rollback ``kind`` is shown as it is, and written back as it was;
* an unknown ``rollout.state`` or slot name, or a value of the wrong type, makes
  :attr:`ParsedStatus.newer` say so: the Release must stop acting (a ``Stalled``
  condition with that message) until a Ripcord that knows it runs again. Values of the
  wrong type are dropped from the parsed status (it has to be typed); everything else
  is kept.

Pure and total: any JSON value in, never an exception out.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Any, Mapping, Optional

from pydantic import ValidationError

from ripcord.api.limits import MAX_DECODE_DEPTH, SPEC_PROBLEM_MAX, bounded
from ripcord.api.models import OUTCOMES, REASON_KINDS, ROLLOUT_STATES, SLOTS, VERDICTS, ReleaseStatus
from ripcord.api.validation import too_deep_path

NEWER = "status written by a newer Ripcord"
_MAX_REPAIRS = 50  # values dropped before giving up on the rest (an empty status then)


@dataclasses.dataclass(frozen=True)
class ParsedStatus:
    status: ReleaseStatus
    newer: Optional[str] = None  # why this version must not act on it (a bounded message), or None
    unknown_values: tuple[str, ...] = ()  # "status.history[0].outcome = 'Paused'": kept, shown as they are


def parse_status(raw: Any) -> ParsedStatus:
    """The typed status, tolerant of what a newer Ripcord wrote (see the module's docstring)."""
    if raw is None:
        return ParsedStatus(ReleaseStatus())
    if not isinstance(raw, Mapping):
        return ParsedStatus(ReleaseStatus(), newer="status is not an object: not acting on it")
    if (deep := too_deep_path(raw, "status", MAX_DECODE_DEPTH - 2)) is not None:
        return ParsedStatus(ReleaseStatus(), newer=bounded(f"{deep} is nested too deep: not acting on this status",
                                                           SPEC_PROBLEM_MAX))
    data: Any = copy.deepcopy(dict(raw))
    dropped: list[str] = []
    status: Optional[ReleaseStatus] = None
    for _ in range(_MAX_REPAIRS):
        try:
            status = ReleaseStatus.model_validate(data)
            break
        except ValidationError as exc:
            loc = tuple(exc.errors(include_url=False)[0]["loc"])
            if not _drop(data, loc):
                break
            dropped.append(_path(loc))
    if status is None:
        status, dropped = ReleaseStatus(), dropped + ["status"]
    unknown = _unknown_values(status)
    stopping = [d + " is unreadable" for d in dropped] + [u for u in unknown if _acting_on(u)]
    newer = bounded(f"{NEWER}: " + "; ".join(stopping), SPEC_PROBLEM_MAX) if stopping else None
    return ParsedStatus(status, newer=newer, unknown_values=tuple(unknown))


def _drop(data: Any, loc: tuple[Any, ...]) -> bool:
    """Remove the value at ``loc`` (or, when it is missing, its parent): a smaller status that may parse."""
    if not loc:
        return False
    parent = data
    for part in loc[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return _drop(data, loc[:-1])
    last = loc[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
        del parent[last]
        return True
    return _drop(data, loc[:-1])  # a required field is missing: drop what holds it


def _unknown_values(st: ReleaseStatus) -> list[str]:
    found = []

    def check(path: str, value: Optional[str], known: tuple[str, ...]) -> None:
        if value is not None and value not in known:
            found.append(f"{path} = {bounded(value, 64)!r}")

    if st.rollout is not None:
        check("status.rollout.state", st.rollout.state, ROLLOUT_STATES)
        if st.rollout.reason is not None:
            check("status.rollout.reason.kind", st.rollout.reason.kind, REASON_KINDS)
    for role in ("stable", "canary", "previous"):
        w = getattr(st, role)
        if w is not None:
            check(f"status.{role}.slot", w.slot, SLOTS)
    if st.analysis is not None:
        check("status.analysis.verdict", st.analysis.verdict, VERDICTS)
        for i, m in enumerate(st.analysis.metrics):
            check(f"status.analysis.metrics[{i}].verdict", m.verdict, VERDICTS)
    for i, h in enumerate(st.history):
        check(f"status.history[{i}].outcome", h.outcome, OUTCOMES)
        if h.reason is not None:
            check(f"status.history[{i}].reason.kind", h.reason.kind, REASON_KINDS)
    return found


def _acting_on(unknown: str) -> bool:
    """The unknown values this version would act on: the rollout's state and the slots."""
    return unknown.startswith(("status.rollout.state", "status.stable.slot", "status.canary.slot",
                               "status.previous.slot"))


def _path(loc: tuple[Any, ...]) -> str:
    text = "status"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
