"""What `kubectl ripcord get` shows of gates, webhooks, pauses and approval: pure text from the Release JSON.

Like :mod:`.render`, it reads the object as the API server returns it and tolerates missing
or unknown fields (a Release written by an older operator has none of these).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

Obj = Mapping[str, Any]


def _get(obj: Any, *path: str) -> Any:
    cur = obj
    for key in path:
        if not isinstance(cur, Mapping) or cur.get(key) is None:
            return None
        cur = cur[key]
    return cur


def step_items(release: Obj) -> list[tuple[str, Optional[int], Optional[int]]]:
    """The spec's steps in order: (label, weight step index or None, pause-after index or None)."""
    spec = _get(release, "spec") or {}
    out: list[tuple[str, Optional[int], Optional[int]]] = []
    index = -1
    for item in spec.get("steps") or []:
        if isinstance(item, int) or (isinstance(item, str) and item.isdigit()):
            if int(item) < 100:
                index += 1
                out.append((f"{int(item)}%", index, None))
        elif isinstance(item, str) and item.startswith("pause"):
            out.append((item, None, index))
    return out


def steps_line(release: Obj, plain: Sequence[str]) -> str:
    """``gate ✓ › 20% ✓ › pause ◀ › 50% › promote``; ``plain``: render's own marks for the weights."""
    spec = _get(release, "spec") or {}
    ro = _get(release, "status", "rollout") or {}
    parts: list[str] = []
    if spec.get("gate"):
        gate = ro.get("gate") or {}
        mark = " ✓" if gate.get("passedAt") or (ro and int(ro.get("weight") or 0) > 0) else \
            (" ◀" if gate else "")
        parts.append(f"gate{mark if ro else ''}")
    if _get(spec, "traffic", "mirror"):
        mark = " ◀" if ro.get("mirror") is not None else (" ✓" if ro.get("mirrorDone") else "")
        parts.append(f"mirror {_get(spec, 'traffic', 'mirror', 'percent')}%{mark if ro else ''}")
    pause = ro.get("pause") or {}
    before_traffic = ro.get("state") == "Progressing" and int(ro.get("weight") or 0) == 0
    labels = list(plain[:-1])
    for i, label in enumerate(labels):
        if label.endswith(" ◀") and (before_traffic or pause.get("afterStep") == i):
            labels[i] = label[:-2] + ("" if before_traffic else " ✓")  # at a gate or a pause, not at the weight
    weights = iter(labels)
    done = set(ro.get("pausesDone") or [])
    items = step_items(release) or [(w, None, None) for w in plain[:-1]]
    for label, index, after in items:
        if index is not None or after is None:
            parts.append(next(weights, label))
        else:
            mark = " ◀" if pause.get("afterStep") == after else (" ✓" if after in done else "")
            parts.append(f"{label}{mark if ro else ''}")
    if spec.get("requireApproval"):
        parts.append("approval ◀" if ro.get("awaitingApproval") else "approval")
    return " › ".join(parts + [plain[-1]])


def view_lines(release: Obj) -> list[str]:
    """The `get NAME` lines of the rollout in flight's gate, mirror, pause, approval and webhook calls."""
    st = _get(release, "status") or {}
    ro = st.get("rollout") or {}
    name = _get(release, "metadata", "name") or "NAME"
    out: list[str] = []
    gate = ro.get("gate")
    if gate:
        if gate.get("passedAt"):
            head = f"passed at {gate['passedAt']} ({gate.get('rounds', 0)} rounds)"
        else:
            successes = _get(release, "spec", "gate", "successes") or 1
            head = f"round {gate.get('rounds', 0)}, {gate.get('passes', 0)}/{successes} passed in a row"
        out.append(f"Gate:        {head}")
        for check in gate.get("checks") or []:
            out.append(f"             {'ok  ' if check.get('passed') else 'FAIL'} {check.get('message', '')}")
    if ro.get("mirror") is not None:
        out.append(f"Mirror:      {ro['mirror']}% of live requests copied to the canary (answers discarded), "
                   f"judged at weight 0")
    pause = ro.get("pause")
    if pause:
        where = "before the first step" if int(pause.get("afterStep", -1)) < 0 else \
            f"after step {int(pause['afterStep']) + 1}"
        until = f"until {pause['until']}" if pause.get("until") else \
            f"until resumed: kubectl ripcord resume {name} (or promote)"
        out.append(f"Pause:       {where}, {until}")
    if ro.get("awaitingApproval") and not ro.get("promoteRequested"):
        out.append(f"Approval:    every step passed; approve with kubectl ripcord promote {name}")
    calls = [c for c in st.get("webhooks") or [] if isinstance(c, Mapping)
             and (c.get("rolloutId") == ro.get("id") or c.get("type") == "post-rollout")]
    if calls:
        out.append("Webhooks:")
        width = max(len(str(c.get("name", ""))) for c in calls)
        for c in calls:
            out.append(f"  {str(c.get('name', '?')):<{width}}  {c.get('key', '?'):<28} {c.get('result', '?'):<8} "
                       f"{c.get('attempts', 0)}x  {c.get('message', '')}")
    return out


def live_state(release: Obj) -> Optional[tuple[str, str]]:
    """(state, note) for `history` when a pause step or the approval holds the rollout in flight."""
    ro = _get(release, "status", "rollout") or {}
    if ro.get("state") != "Progressing":
        return None
    if ro.get("awaitingApproval") and not ro.get("promoteRequested"):
        return "AwaitingApproval", " (awaiting approval)"
    if ro.get("pause"):
        return "Paused", " (pause step)"
    return None
