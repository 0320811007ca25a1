"""bounded(): every text Ripcord writes fits the API's limits; the status models apply it."""
from __future__ import annotations

import pytest

from ripcord.api import limits
from ripcord.api.conditions import set_condition
from ripcord.api.limits import bounded
from ripcord.api.models import Condition, HistoryEntry, ReleaseStatus, RollbackReason, TimelineEntry
from tests.unit.api.status_samples import NOW


@pytest.mark.parametrize("length", [0, 1, 9, 10, 11, 999, 1000, 1001, 10**6])
@pytest.mark.parametrize("limit", [1, 2, 10, 40, 1000, 32_768])
def test_bounded_never_exceeds_the_limit_and_keeps_short_text(length: int, limit: int) -> None:
    text = "x" * length
    out = bounded(text, limit)
    assert len(out) <= limit
    if length <= limit:
        assert out == text
    else:
        assert "…" in out and (limit == 1 or out.startswith("x"))


def test_bounded_says_how_much_it_cut() -> None:
    out = bounded("a" * 100_000, 1000)
    assert len(out) == 1000 and out.endswith(f"… ({100_000 - out.index('…')} more characters)")


def test_bounded_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        bounded("x", 0)


def test_the_limits_are_the_api_s() -> None:
    assert limits.CONDITION_MESSAGE_MAX == 32_768
    assert limits.EVENT_MESSAGE_MAX == 1_024
    assert limits.SPEC_PROBLEM_MAX <= limits.EVENT_MESSAGE_MAX  # an InvalidSpec message is also an Event's


def test_a_long_condition_message_is_cut_to_the_api_limit() -> None:
    """A 40 kB message made every status write fail with 422 (issue 11, item 2)."""
    conditions: list[Condition] = []
    set_condition(conditions, "Stalled", "True", "InvalidSpec", "m" * 40_000, NOW, 1)
    assert len(conditions[0].message) == limits.CONDITION_MESSAGE_MAX
    conditions[0].message = "n" * 50_000  # assignment is checked too
    assert len(conditions[0].message) == limits.CONDITION_MESSAGE_MAX


def test_history_texts_are_cut_when_built_and_assigned() -> None:
    reason = RollbackReason(kind="PodHealth", message="r" * 10_000, at="2026-01-01T00:00:00Z")
    assert len(reason.message) == limits.REASON_MESSAGE_MAX
    entry = TimelineEntry(at="2026-01-01T00:00:00Z", event="RolledBack", message="t" * 10_000)
    assert len(entry.message) == limits.TIMELINE_MESSAGE_MAX
    status = ReleaseStatus()
    status.message = "s" * 10_000
    assert len(status.message) == limits.STATUS_MESSAGE_MAX
    history = HistoryEntry(id=1, version="v" * 5000, template_hash="h", outcome="RolledBack",
                           started_at="2026-01-01T00:00:00Z", timeline=[entry] * 100)
    assert len(history.version) == limits.SHORT_TEXT_MAX and len(history.timeline) == limits.TIMELINE_MAX
