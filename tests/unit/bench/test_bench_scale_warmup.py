"""The scale benchmark's warm-up ends when the operator has looked at every Release and gone quiet."""
from __future__ import annotations

from typing import Any

import pytest

from bench.scale import phases


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


class FakeOperator:
    """Reconcile counts as the clock goes: ``counts[i]`` at second i (the last one stays)."""

    def __init__(self, clock: FakeClock, counts: list[int]) -> None:
        self.clock, self.counts = clock, counts

    def metrics(self) -> str:
        n = self.counts[min(int(self.clock.t), len(self.counts) - 1)]
        return f"ripcord_reconcile_duration_seconds_count {n}\n"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(phases, "time", c)
    return c


def test_an_event_driven_operator_is_warm_once_every_release_was_seen_and_it_went_quiet(clock: FakeClock) -> None:
    op: Any = FakeOperator(clock, [0, 40, 90, 100, 103])
    assert phases.warm_up(op, 100, 180, print) == pytest.approx(4 + 6)


def test_a_polling_operator_is_warm_after_two_reconciles_per_release(clock: FakeClock) -> None:
    op: Any = FakeOperator(clock, [0, 80, 160, 240])
    assert phases.warm_up(op, 100, 180, print) == pytest.approx(3)


def test_an_operator_that_never_saw_every_release_is_measured_after_the_timeout(
        clock: FakeClock, capsys: pytest.CaptureFixture[str]) -> None:
    op: Any = FakeOperator(clock, [0, 50])
    assert phases.warm_up(op, 100, 30, print) >= 30
    assert "not settled after 30s (50 reconciles of 100 Releases)" in capsys.readouterr().out
