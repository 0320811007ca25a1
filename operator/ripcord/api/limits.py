"""Bounds on what Ripcord reads and writes, and the one helper that enforces the text ones.

The API server refuses a condition message over 32,768 characters, and a status that
grows without bound ends at etcd's object size limit; a message built from user input
(a 40 kB address, a long API error) must therefore be cut before it is written, or the
status write fails on every tick. ``bounded`` cuts; the constants say where.
"""
from __future__ import annotations

CONDITION_MESSAGE_MAX = 32_768  # metav1.Condition.message (API validation)
CONDITION_REASON_MAX = 1_024  # metav1.Condition.reason (API validation)
EVENT_MESSAGE_MAX = 1_024  # events.k8s.io/v1 note; kept for core/v1 Events too
STATUS_MESSAGE_MAX = 1_024  # status.message, the one-line summary
REASON_MESSAGE_MAX = 1_024  # a rollback reason (history and rollout), metric messages
TIMELINE_MESSAGE_MAX = 512  # one timeline entry
SHORT_TEXT_MAX = 256  # names, versions, hashes, times and enum-like values in status
BOUND_TEXT_MAX = 512  # a metric's bound as text ("ratio <= 1.1 x stable")
SPEC_PROBLEM_MAX_PROBLEMS = 5  # problems listed in one InvalidSpec message

HISTORY_MAX = 20  # status.history entries, newest first
OUTBOX_MAX = 64  # Events and notifications recorded and not yet delivered (the oldest Events go first)
RESTARTS_TRACKED_MAX = 256  # canary containers whose restarts a step remembers
TIMELINE_MAX = 60  # timeline entries per history entry, oldest dropped
CONDITIONS_MAX = 16  # status.conditions
METRIC_RESULTS_MAX = 32  # status.analysis.metrics
SPEC_PROBLEM_MAX = EVENT_MESSAGE_MAX  # an InvalidSpec message is both a condition and an Event

MAX_DECODE_DEPTH = 100
"""Nesting depth (from the document's root) kept when decoding API responses.

Real Kubernetes objects nest about 20 levels (a CRD's schema about 50). Deeper subtrees
are replaced by :data:`TOO_DEEP`, so nothing downstream (Kopf's diffs, deep copies,
pydantic, ``json.dumps``) can be recursed to death by one object.
"""

TOO_DEEP = "<ripcord: nested too deep, cut>"
"""What replaces a subtree nested deeper than :data:`MAX_DECODE_DEPTH`."""

_ELLIPSIS = "…"


def bounded(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, with an ellipsis and the count cut off.

    Pure and total: any ``limit`` >= 1 works; the result is never longer than ``limit``.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    while True:  # the tail's own length changes what is cut: settle it (two rounds at most)
        tail = f"{_ELLIPSIS} ({cut} more characters)"
        if len(tail) >= limit // 2:
            return text[: limit - 1] + _ELLIPSIS
        need = len(text) - (limit - len(tail))
        if need == cut:
            return text[: limit - len(tail)] + tail
        cut = need
