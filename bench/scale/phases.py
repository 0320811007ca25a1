"""The measurements: counters over a window with no operator (the background of the other
sandbox clients), with every Release at rest, and while M Releases roll out at once."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from . import procstat, promtext, rollouts
from .operator_process import OperatorUnderTest
from .promtext import Counts
from .rollouts import ReleaseWatch
from .scenario import ANALYSIS_INTERVAL_S, SELECTOR, ReleaseRef, Scenario, Started
from .sources import ApiServer, Snapshot, take

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Window:
    """How much every counter grew between two snapshots."""

    seconds: float
    apiserver: Counts
    client: Counts
    prometheus_queries: float
    reconciles: float
    operator_cpu_cores: Optional[float]
    components: dict[str, tuple[float, int]]  # sandbox process -> (CPU cores, RSS bytes at the end)
    lateness: Optional[list[tuple[float, float]]]  # histogram growth, when the operator exports it
    load_average: float = 0.0  # the machine's 1-minute load average at the end (other work shares it)

    @property
    def apiserver_cpu_cores(self) -> Optional[float]:
        c = self.components.get("kube-apiserver")
        return c[0] if c else None


def window(a: Snapshot, b: Snapshot, load_average: float = 0.0) -> Window:
    lateness = (promtext.histogram_growth(a.lateness, b.lateness)
                if a.lateness is not None and b.lateness is not None else None)
    components = {name: (procstat.cpu_cores(a.components[name], s), s.rss_bytes)
                  for name, s in b.components.items() if name in a.components}
    op = (procstat.cpu_cores(a.operator_proc, b.operator_proc)
          if a.operator_proc is not None and b.operator_proc is not None else None)
    return Window(seconds=b.at - a.at, apiserver=promtext.growth(a.apiserver, b.apiserver),
                  client=promtext.growth(a.client, b.client),
                  prometheus_queries=b.prometheus_queries - a.prometheus_queries,
                  reconciles=b.reconciles - a.reconciles, operator_cpu_cores=op, components=components,
                  lateness=lateness, load_average=load_average)


def _load() -> float:
    return os.getloadavg()[0]


@dataclass(frozen=True)
class AtRest:
    releases: int
    window: Window
    background: Window  # the same cluster with no operator running
    rss_peak_bytes: int


@dataclass(frozen=True)
class RolloutResult:
    started: Started
    outcome: Optional[str]  # None: unfinished at the timeout
    first_step_s: Optional[float]
    lateness_s: tuple[float, ...]

    @property
    def correct(self) -> bool:
        return self.outcome == self.started.expected


@dataclass(frozen=True)
class Rolling:
    at_rest: int
    window: Window
    rss_peak_bytes: int
    results: tuple[RolloutResult, ...]
    bench_requests: int  # the benchmark's own requests in the window (patches, its watch)


def measure_background(apiserver: ApiServer, prometheus_url: str, seconds: float) -> Window:
    a = take(apiserver, prometheus_url)
    time.sleep(seconds)
    return window(a, take(apiserver, prometheus_url), _load())


def warm_up(operator: OperatorUnderTest, releases: int, timeout: float, echo: Echo, quiet_s: float = 6.0) -> float:
    """Wait until the operator has reconciled every Release and settled; seconds waited.

    Settled: about two reconciles per Release (a polling operator never goes quiet), or at
    least one each and none for ``quiet_s`` (an event-driven one at rest reconciles only when
    woken or at its slow resync).
    """
    t0 = time.monotonic()
    last, last_change = -1.0, t0
    while time.monotonic() - t0 < timeout:
        done = promtext.total(operator.metrics(), "ripcord_reconcile_duration_seconds_count")
        now = time.monotonic()
        if done != last:
            last, last_change = done, now
        if done >= 2 * releases or (done >= releases and now - last_change >= quiet_s):
            return now - t0
        time.sleep(1)
    echo(f"  warm-up: not settled after {timeout:.0f}s ({last:.0f} reconciles of {releases} Releases); "
         "measuring anyway")
    return time.monotonic() - t0


def measure_at_rest(operator: OperatorUnderTest, apiserver: ApiServer, prometheus_url: str, releases: int,
                    seconds: float, background: Window) -> AtRest:
    rss = procstat.RssWatch(operator.pid).start()
    a = take(apiserver, prometheus_url, operator)
    time.sleep(seconds)
    b = take(apiserver, prometheus_url, operator)
    rss.stop()
    return AtRest(releases, window(a, b, _load()), background, rss.peak)


def measure_rolling(scenario: Scenario, operator: OperatorUnderTest, apiserver: ApiServer, prometheus_url: str,
                    refs: list[ReleaseRef], at_rest: int, round_: int, bad_every: int, timeout: float,
                    echo: Echo) -> Rolling:
    """Start ``refs``' rollouts at once and wait for every one to end (or the timeout)."""
    watch = ReleaseWatch(scenario.api_client, SELECTOR).start()
    deadline = time.monotonic() + 120
    while not all(watch.status(r.namespace, r.name) for r in refs):  # the watch's initial list
        if time.monotonic() > deadline:
            raise TimeoutError("the Release watch did not list the rolling Releases in 120 s")
        time.sleep(0.5)
    rss = procstat.RssWatch(operator.pid).start()
    before_requests = scenario.requests + watch.requests
    a = take(apiserver, prometheus_url, operator)
    started = scenario.start_rollouts(refs, round_, bad_every)
    echo(f"  {len(started)} template changes in {time.time() - started[0].changed_at:.1f}s")
    t0, told = time.monotonic(), 0.0
    while True:
        ended = [s for s in started if rollouts.outcome(watch.status(s.ref.namespace, s.ref.name), s.rollout_id)]
        if len(ended) == len(started) or time.monotonic() - t0 > timeout or not operator.running():
            break
        if time.monotonic() - t0 - told >= 30:
            told = time.monotonic() - t0
            echo(f"  {len(ended)}/{len(started)} rollouts ended after {told:.0f}s")
        time.sleep(1)
    b = take(apiserver, prometheus_url, operator)
    rss.stop()
    watch.stop()
    results = []
    for s in started:
        status = watch.status(s.ref.namespace, s.ref.name)
        marks = [m for m in watch.marks(s.ref.namespace, s.ref.name) if m.rollout_id == s.rollout_id]
        results.append(RolloutResult(s, rollouts.outcome(status, s.rollout_id),
                                     rollouts.first_step_delay(status, s.rollout_id, s.changed_at),
                                     tuple(rollouts.analysis_lateness(marks, ANALYSIS_INTERVAL_S))))
    return Rolling(at_rest, window(a, b, _load()), rss.peak, tuple(results),
                   bench_requests=scenario.requests + watch.requests - before_requests)


def expected_outcomes(results: Sequence[RolloutResult]) -> str:
    good = sum(1 for r in results if r.started.good)
    return f"{good} good (to be promoted), {len(results) - good} bad (to be rolled back)"
