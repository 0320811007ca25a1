"""The pre-flight's verdict: can the judges decide in time, and if not, what would make them.

Pure: traffic figures in, a :class:`PreflightResult` out. ``Analyzer.preflight`` reads the
figures from Prometheus (:func:`recent_window_s`, :func:`baseline_window_s`) and calls
:func:`assess`; the engine shows the result (a condition and an Event when it is not
feasible); the docs test checks every example Release with :func:`assess` at the traffic
the example states.

A fix is computed, never canned. For a sequential metric it is the smallest number of
canary pods (``traffic.canaryReplicas``, gateway-api provider) that brings the expected
time to a pass within ``maxDuration``, and the ``maxDuration`` that the current pods would
need; when neither is within reach (the pod spread of the stable alone can rule out a
pass), the threshold judge. For a fixed-bound metric it is the step length and
``maxDuration`` that collect ``minRequests``, or a lower ``minRequests``.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from .judge.base import Judge, Preflight
from .judge.preflight import time_to_pass
from .judge.settings import SequentialSettings
from .judge.threshold import Bound, ThresholdJudge

#: The traffic rate is read over at most this long, so that it reflects the current traffic
#: within a minute (a window of minutes read 16.6 rps 20 s after a 50 rps load began).
RECENT_WINDOW_MAX_S = 60.0
#: ... and at least this many scrapes, so that one missed scrape does not halve it.
RECENT_WINDOW_SCRAPES = 4
#: Fixes are searched up to these.
MAX_FIX_CANARY_PODS = 50
MAX_FIX_DURATION_S = 24 * 3600.0


def recent_window_s(scrape_interval_s: float) -> float:
    """The window the request rate is read over: 15 s, or 4 scrapes, never more than 60 s."""
    return min(RECENT_WINDOW_MAX_S, max(15.0, RECENT_WINDOW_SCRAPES * scrape_interval_s))


def baseline_window_s(scrape_interval_s: float) -> float:
    """The window the stable's bad share is read over: minutes (a share is steadier than a
    rate, and a short window would hold too few bad events to estimate it)."""
    return max(120.0, 20 * scrape_interval_s)


@dataclasses.dataclass(frozen=True)
class Traffic:
    """What one metric sees on the stable before the rollout."""

    total_rps: float  # requests per second (stable and canary) over the recent window
    bad_share: float  # the stable's error (or slow) share over the baseline window
    window_s: float = 0.0  # the recent window, for the message


@dataclasses.dataclass(frozen=True)
class MetricCheck:
    metric: str
    feasible: Optional[bool]  # None: cannot say (no data)
    message: str
    fix: str = ""


@dataclasses.dataclass(frozen=True)
class PreflightResult:
    """The pre-flight of one rollout.

    ``feasible``: True (every metric can reach a verdict in time), False (at least one
    cannot), None (unknown: no metrics, no traffic, Prometheus not readable). ``summary``
    is one line; ``fix`` the concrete change (empty when feasible or unknown).
    """

    feasible: Optional[bool]
    summary: str
    fix: str = ""
    metrics: tuple[MetricCheck, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        """Everything, for ``status.analysis.preflight`` (at most 4096 characters)."""
        parts = [self.summary] + ([f"Fix: {self.fix}"] if self.fix else [])
        parts += [f"{m.metric}: {m.message}" for m in self.metrics] + list(self.notes)
        return " ".join(p if p.endswith(".") else p + "." for p in parts if p)[:4096]

    def __str__(self) -> str:
        return self.message


def unknown(summary: str, notes: Sequence[str] = ()) -> PreflightResult:
    return PreflightResult(None, summary, notes=tuple(notes))


# ------------------------------------------------------------------ durations

def duration_text(seconds: float) -> str:
    """A Release duration that is at least ``seconds``: whole minutes (``25m``), or hours
    and minutes (``1h30m``)."""
    minutes = max(1, math.ceil(seconds / 60.0 - 1e-9))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{minutes}m"
    return f"{hours}h" + (f"{rest}m" if rest else "")


def _plain(seconds: float) -> str:
    """A duration as written in a Release: ``45s``, ``6m``, ``1h``, ``1h30m``."""
    if seconds < 60 or abs(seconds / 60 - round(seconds / 60)) > 1e-9:
        return f"{seconds:g}s"
    return duration_text(seconds)


# ------------------------------------------------------------------ fixes

@dataclasses.dataclass(frozen=True)
class SequentialFix:
    """What brings a healthy canary's expected pass within reach; the options, each enough alone.

    ``canary_pods``: the fewest canary pods that pass within the current ``maxDuration``.
    ``max_duration_s``: the ``maxDuration`` the current pods need. When neither alone works,
    ``both``: the fewest canary pods that pass within :data:`MAX_FIX_DURATION_S`, and the
    ``maxDuration`` they need. All None: the threshold judge.
    """

    canary_pods: Optional[int] = None
    max_duration_s: Optional[float] = None
    both: Optional[tuple[int, float]] = None

    def text(self, metric: str) -> str:
        options = []
        if self.canary_pods is not None:
            options.append(f"run {self.canary_pods} canary pods (traffic.canaryReplicas: {self.canary_pods}, "
                           "gateway-api provider)")
        if self.max_duration_s is not None:
            options.append(f"allow maxDuration: {duration_text(self.max_duration_s)}")
        if self.both is not None:
            pods, seconds = self.both
            options.append(f"run {pods} canary pods (traffic.canaryReplicas: {pods}, gateway-api provider) "
                           f"and allow maxDuration: {duration_text(seconds)}")
        if not options:
            return (f"use the threshold judge for {metric} (judge: threshold with max or maxRatio): with these "
                    f"stable pods and this traffic not even {MAX_FIX_CANARY_PODS} canary pods and a maxDuration "
                    f"of {duration_text(MAX_FIX_DURATION_S)} bring a pass")
        return " or ".join(options)


def _fewest_pods(t_pass: Callable[[int], Optional[float]], start: int, limit_s: float) -> Optional[int]:
    """The fewest canary pods in ``start..MAX_FIX_CANARY_PODS`` whose pass comes within
    ``limit_s`` (the time to a pass only falls with more pods: a bisection)."""
    def fits(n: int) -> bool:
        t = t_pass(n)
        return t is not None and t <= limit_s

    lo, hi = max(start, 1), MAX_FIX_CANARY_PODS
    if lo > hi or not fits(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def sequential_fix(settings: SequentialSettings, *, metric: str, metrics: int, total_rps: float, bad_share: float,
                   canary_pods: int, stable_pods: int, weights: Sequence[float], step_s: float,
                   max_duration_s: float) -> SequentialFix:
    """The smallest changes that let a healthy canary pass within ``maxDuration``."""
    def t_pass(pods: int, horizon: float = MAX_FIX_DURATION_S) -> Optional[float]:
        return time_to_pass(settings, total_rps=total_rps, stable_error_rate=bad_share, canary_pods=pods,
                            stable_pods=stable_pods, weights=weights, step_s=step_s, horizon_s=horizon,
                            metrics=metrics, metric=metric)

    pods = _fewest_pods(lambda n: t_pass(n, max(max_duration_s, step_s)), canary_pods + 1, max_duration_s)
    needed = t_pass(canary_pods)
    longer = needed if needed is not None and needed > max_duration_s else None
    both: Optional[tuple[int, float]] = None
    if pods is None and longer is None:
        n = _fewest_pods(t_pass, canary_pods + 1, MAX_FIX_DURATION_S)
        t = t_pass(n) if n is not None else None
        both = (n, t) if n is not None and t is not None else None
    return SequentialFix(pods, longer, both)


def threshold_fix(*, total_rps: float, weights: Sequence[float], step_s: float, max_duration_s: float,
                  min_requests: int) -> str:
    """Fixed bounds need ``minRequests`` canary requests in a step: the step length and
    ``maxDuration`` that collect them at the first weight, or the ``minRequests`` one step holds."""
    first = min(weights) if weights else 0.0
    rate = total_rps * first / 100.0
    if rate <= 0:
        return "send traffic to the stable before the rollout (no requests, no verdict)"
    need_step = min_requests / rate
    per_step = int(rate * step_s)
    return (f"allow stepDuration: {duration_text(need_step)} and maxDuration: "
            f"{duration_text(need_step * max(1, len(weights)))}, or lower minRequests to {per_step}")


# ------------------------------------------------------------------ assessment

@dataclasses.dataclass(frozen=True)
class Judged:
    """How one metric is judged, as the analyzer plans it."""

    metric: str
    kind: str  # "error-rate" | "latency"
    sequential: bool
    bound: Optional[Bound] = None  # fixed bounds (threshold metrics)


def _sequential_preflight(judge: Judge, args: Mapping[str, Any], metrics: int, metric: str) -> Preflight:
    try:  # the sequential judge corrects for the number of metrics, and knows latencies by name
        return judge.preflight(**args, metrics=metrics, metric=metric)  # type: ignore[call-arg]
    except TypeError:
        return judge.preflight(**args)


def assess(judged: Sequence[Judged], traffic: Mapping[str, Union[Traffic, str]], *,
           judge: Optional[Judge], weights: Sequence[float], canary_pods: int, stable_pods: int,
           step_s: float, max_duration_s: float, min_requests: int,
           notes: Sequence[str] = ()) -> PreflightResult:
    """Whether every metric can reach a verdict within ``maxDuration``, and the fix.

    ``traffic[metric]`` is the metric's traffic, or why it could not be read (a string).
    ``judge`` is the sequential judge (its ``preflight``; the fix search needs its
    :class:`SequentialSettings`, as ``judge.settings``).
    """
    settings = getattr(judge, "settings", None)
    settings = settings if isinstance(settings, SequentialSettings) else None
    if not judged:
        return unknown("No metrics to judge: nothing to check before the rollout", notes)
    n_seq = sum(1 for j in judged if j.sequential)
    checks: list[MetricCheck] = []
    for j in judged:
        t = traffic.get(j.metric)
        if t is None or isinstance(t, str):
            checks.append(MetricCheck(j.metric, None, t or "not measured"))
            continue
        figures = (f"[traffic {t.total_rps:.3g} rps"
                   + (f" over the last {t.window_s:.0f} s" if t.window_s else "")
                   + f", stable {'slow' if j.kind == 'latency' else 'errors'} {t.bad_share * 100:.3g}%]")
        if t.total_rps <= 0:
            checks.append(MetricCheck(j.metric, None, f"no traffic on the stable {figures}: no verdict is "
                                                      "possible without requests"))
            continue
        args: dict[str, Any] = dict(total_rps=t.total_rps, canary_pods=canary_pods, stable_pods=stable_pods,
                                    weights=[float(w) for w in weights], step_s=step_s, max_duration_s=max_duration_s)
        if j.sequential and judge is not None:
            pf = _sequential_preflight(judge, {**args, "stable_error_rate": t.bad_share}, max(n_seq, 1), j.metric)
            fix = ""
            if not pf.feasible:
                fix = (sequential_fix(settings, metric=j.metric, metrics=max(n_seq, 1), bad_share=t.bad_share,
                                      **args).text(j.metric) if settings is not None else
                       "more canary pods (traffic.canaryReplicas), a longer maxDuration, or the threshold judge")
        else:
            bound = j.bound or Bound()
            pf = ThresholdJudge({j.metric: bound}, min_requests=min_requests).preflight(
                stable_error_rate=t.bad_share, **args)
            fix = "" if pf.feasible else threshold_fix(total_rps=t.total_rps, weights=weights, step_s=step_s,
                                                       max_duration_s=max_duration_s, min_requests=min_requests)
        flag = "" if pf.feasible else " (NOT FEASIBLE within maxDuration)"
        checks.append(MetricCheck(j.metric, pf.feasible, f"{pf.message}{flag} {figures}", fix))

    bad = [c for c in checks if c.feasible is False]
    unknown_ = [c for c in checks if c.feasible is None]
    if bad:
        names = ", ".join(c.metric for c in bad)
        summary = (f"Infeasible: {names} cannot reach a verdict within maxDuration "
                   f"{_plain(max_duration_s)} with {canary_pods} canary and {stable_pods} stable pods; "
                   "the rollout would hold without a verdict")
        return PreflightResult(False, summary, "; ".join(f"{c.metric}: {c.fix}" for c in bad if c.fix),
                               tuple(checks), tuple(notes))
    if unknown_:
        return PreflightResult(None, "Unknown: " + "; ".join(f"{c.metric}: {c.message}" for c in unknown_)[:512],
                               "", tuple(checks), tuple(notes))
    return PreflightResult(True, f"Feasible: every metric can reach a verdict within maxDuration "
                                 f"{_plain(max_duration_s)}", "", tuple(checks), tuple(notes))
