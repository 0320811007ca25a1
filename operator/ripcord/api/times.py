"""Timestamps as the operator and the API server write them (RFC 3339, ``Z``, 0-6 fraction digits)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional


def parse_time(text: Any) -> Optional[dt.datetime]:
    """An aware datetime (UTC when the text has no zone), or None when absent or unreadable."""
    if isinstance(text, dt.datetime):
        return text if text.tzinfo else text.replace(tzinfo=dt.timezone.utc)
    if not isinstance(text, str) or not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
