"""Tables for a person, one JSON line for a machine: each part's figures merged into the last line."""
from __future__ import annotations

import json
from typing import Any, Mapping, Sequence


def table(title: str, rows: Sequence[tuple[str, Any]]) -> str:
    """A two-column table: figure, value."""
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title, "-" * max(len(title), width + 12)]
    lines += [f"{k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


def merge(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One mapping of every part's figures; a key reported twice keeps its last value."""
    out: dict[str, Any] = {}
    for p in parts:
        out.update(p)
    return out


def last_line(figures: Mapping[str, Any]) -> str:
    return json.dumps(dict(figures), sort_keys=True)
