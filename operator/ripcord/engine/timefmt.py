"""Times and numbers as the status writes them: RFC 3339 with milliseconds, short numbers."""
from __future__ import annotations

import datetime as dt
from typing import Optional


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def seconds_between(a: str, b: dt.datetime) -> float:
    return (b - parse_iso(a)).total_seconds()


def rounded(v: Optional[float]) -> Optional[float]:
    return None if v is None else round(v, 2)


def short(v: Optional[float]) -> str:
    return "?" if v is None else f"{v:.4g}"
