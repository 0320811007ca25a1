"""The scheduler: wakes, the rollout's own clock, resync, bounded workers, errors kept to one Release."""
from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from typing import Any, Callable, Optional

from ripcord.runtime.scheduler import Scheduler


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def run_for(seconds: float, setup: Callable[[Scheduler], None], run: Callable[[str, str], Optional[dt.datetime]],
            until: Optional[Callable[[], bool]] = None, **kwargs: Any) -> Scheduler:
    """Run the scheduler until ``until()`` holds (failing after ``seconds``), or for ``seconds`` when
    there is no condition (to check that nothing *more* happens)."""
    async def main() -> Scheduler:
        s = Scheduler(run, **kwargs)
        s.start()
        setup(s)
        deadline = time.monotonic() + seconds
        while until is None or not until():
            if time.monotonic() > deadline:
                assert until is None, f"not reached within {seconds}s"
                break
            await asyncio.sleep(0.01)
        await s.stop()
        return s
    return asyncio.run(main())


def test_a_wake_runs_the_release_once_and_then_only_on_resync() -> None:
    runs: list[str] = []
    run_for(0.5, lambda s: s.wake("ns", "a"), lambda ns, n: runs.append(n) and None, resync_s=60)
    assert runs == ["a"]


def test_wakes_during_a_run_collapse_into_one_more_run() -> None:
    runs: list[float] = []
    started = threading.Event()

    def run(ns: str, n: str) -> None:
        runs.append(time.monotonic())
        started.set()
        time.sleep(0.2)

    def setup(s: Scheduler) -> None:
        s.wake("ns", "a")

        def later() -> None:
            started.wait(2)
            for _ in range(5):
                s.wake("ns", "a")  # from another thread, while it runs
        threading.Thread(target=later).start()

    run_for(1.0, setup, run, resync_s=60)
    assert len(runs) == 2


def test_the_time_a_reconcile_returns_is_when_it_runs_next() -> None:
    runs: list[float] = []

    def run(ns: str, n: str) -> dt.datetime:
        runs.append(time.monotonic())
        return now() + dt.timedelta(seconds=0.3)

    run_for(10, lambda s: s.wake("ns", "a"), run, until=lambda: len(runs) >= 4, resync_s=60)
    gaps = [b - a for a, b in zip(runs, runs[1:])]
    assert all(g >= 0.29 for g in gaps), gaps


def test_with_nothing_due_a_release_is_resynced() -> None:
    runs: list[float] = []
    run_for(10, lambda s: s.wake("ns", "a"), lambda ns, n: runs.append(time.monotonic()) and None,
            until=lambda: len(runs) >= 3, resync_s=0.3)
    assert all(b - a >= 0.29 for a, b in zip(runs, runs[1:]))


def test_no_more_reconciles_at_once_than_workers() -> None:
    lock = threading.Lock()
    running, peak = [0], [0]

    def run(ns: str, n: str) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.1)
        with lock:
            running[0] -= 1

    def setup(s: Scheduler) -> None:
        for i in range(6):
            s.wake("ns", f"r{i}")

    done: list[int] = []
    s = run_for(10, setup, lambda ns, n: (run(ns, n), done.append(1)) and None, until=lambda: len(done) == 6,
                workers=2, resync_s=60)
    assert peak[0] == 2 and s.pending() == 6  # all six ran, each waits for its resync


def test_a_failing_release_is_reported_and_retried_with_back_off_and_others_go_on() -> None:
    runs: dict[str, list[float]] = {"bad": [], "good": []}
    errors: list[str] = []

    def run(ns: str, n: str) -> None:
        runs[n].append(time.monotonic())
        if n == "bad":
            raise RuntimeError("boom")

    def setup(s: Scheduler) -> None:
        s.wake("ns", "bad")
        s.wake("ns", "good")

    run_for(10, setup, run, until=lambda: len(errors) >= 3, resync_s=60, max_backoff_s=0.4,
            on_error=lambda ns, n, exc: errors.append(f"{n}: {exc}"))
    assert len(runs["good"]) == 1
    assert errors[0] == "bad: boom"
    bad = runs["bad"]
    assert all(b - a >= 0.39 for a, b in zip(bad, bad[1:])), "retried with back-off, not in a hot loop"


def test_a_forgotten_release_is_not_run_again() -> None:
    runs: list[str] = []

    def run(ns: str, n: str) -> dt.datetime:
        runs.append(n)
        return now() + dt.timedelta(seconds=0.1)

    async def main() -> None:
        s = Scheduler(run, resync_s=60)
        s.start()
        s.wake("ns", "a")
        await asyncio.sleep(0.05)
        s.forget("ns", "a")
        await asyncio.sleep(0.4)
        await s.stop()

    asyncio.run(main())
    assert runs == ["a"]


def test_lateness_is_measured_from_when_a_reconcile_fell_due() -> None:
    observed: list[float] = []

    class Metrics:
        class reconcile_lateness:  # noqa: N801 - the shape of a prometheus Histogram
            @staticmethod
            def observe(v: float) -> None:
                observed.append(v)

    run_for(10, lambda s: s.wake("ns", "a"), lambda ns, n: None, until=lambda: bool(observed), metrics=Metrics(),
            resync_s=60)
    assert len(observed) == 1 and observed[0] >= 0
