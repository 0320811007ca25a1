"""The one entry point the engine calls: a step's evidence in, a verdict out, in bounded time.

``analyze`` reads each metric for the interval ``since -> now`` (see :mod:`.metrics`),
hands the evidence to the metric's judge together with the judge state the engine kept in
``status.analysis.judgeState``, and combines the per-metric verdicts:

* any Fail -> **Fail**; all Pass -> **Pass**; otherwise **Inconclusive**;
* Prometheus down, hung, erroring, or the whole call over its deadline -> **Unavailable**,
  with the judge state and failed-check count returned unchanged. Unavailable is not a
  verdict on the canary: the engine holds the weight and counts the outage.

Judges: ``threshold`` (fixed bounds, :mod:`.judge.threshold`) and ``sequential``
(``ripcord.analysis.judge.sequential``, imported lazily). Until the sequential judge is
installed, sequential metrics are judged by fixed bounds (their own ``max``/``maxRatio``,
else ``judge.circuitBreaker`` as an absolute bound on errors and ``judge.r1`` x stable), and
their message says so. A sequential metric that also sets ``max``/``maxRatio`` gets those
as fixed guard rails on top of the test. Custom metrics have no counts to test and are
always judged by fixed bounds.

``judgeState`` layout (opaque to the engine)::

    {"v": 1,
     "threshold": {"failedChecks": n, "step": k, "stepRequests": {metric: requests}},
     "sequential": <the sequential judge's state: {"version", "metrics": {metric: ...}}>,
     "steps": {metric: the current step's totals for fixed bounds (counts, or histograms)}}

One sequential judge covers all sequential metrics of a Release: it is told their names
(its Bonferroni correction and "pass only when every metric passes" need them) and which
are latencies (by type, not by name).
"""
from __future__ import annotations

import dataclasses
import importlib
import logging
import time
from typing import Any, Callable, Literal, Mapping, Optional, Sequence

from ..api.models import AnalysisSpec, JudgeSettings, MetricResult, MetricSpec, parse_duration
from ..config import ConfigError, NotAllowed, OperatorConfig, PromEndpoint, SecretReader
from ..redact import redact
from . import failures, feasibility, queries, scope
from .judge.base import Judge, MetricJudgement
from .judge.threshold import Bound, ThresholdJudge
from .metrics import Measurement, MetricReader, Target, Window, fold_step
from .prometheus import ClientCache, Deadline, MetricsUnavailable, PrometheusClient, QueryClient
from .sharing import SharedQueries, on_grid

log = logging.getLogger(__name__)

__all__ = ["Analyzer", "AnalysisOutcome", "Target", "MetricsUnavailable"]

VerdictName = Literal["Pass", "Fail", "Inconclusive", "Unavailable"]
SEQUENTIAL_MODULE = "ripcord.analysis.judge.sequential"
STATE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class AnalysisOutcome:
    verdict: VerdictName
    metrics: list[MetricResult]  # for status.analysis.metrics
    judge_state: dict[str, Any]  # stored in status.analysis.judgeState, passed back next time
    failed_checks: int
    failing: Optional[MetricResult]  # the metric that failed (value, bound) for the rollback reason
    error: Optional[str]  # why Unavailable


def sequential_available() -> tuple[bool, str]:
    """Whether the statistical judge's module can be imported (and why not)."""
    try:
        importlib.import_module(SEQUENTIAL_MODULE)
    except ImportError as e:
        return False, f"statistical judge not installed ({e.name or e})"
    except Exception as e:  # noqa: BLE001 - a broken judge must not take the analysis down
        log.exception("cannot import the sequential judge")
        return False, f"statistical judge unusable: {e}"
    return True, ""


def load_sequential(settings: JudgeSettings, metrics: Sequence[MetricSpec] = ()) -> tuple[Optional[Judge], str]:
    """The sequential judge for ``metrics``, configured with ``settings``; or (None, why not).

    The judge is told which metrics it judges (so its Bonferroni correction counts all of
    them, and it waits for every one before a pass) and which of them are latencies (slow
    request shares: no circuit breaker, their own tolerance), by type rather than by name.
    """
    ok, why = sequential_available()
    if not ok:
        return None, why
    try:
        mod = importlib.import_module(SEQUENTIAL_MODULE)
        mapping: dict[str, Any] = dict(settings.wire())
        if metrics:
            mapping["metrics"] = [m.name for m in metrics]
            mapping["latencyMetrics"] = [m.name for m in metrics if m.type == "latency"]
        parsed = mod.SequentialSettings.from_mapping(mapping)
        return mod.SequentialJudge(parsed), ""
    except Exception as e:  # noqa: BLE001
        log.exception("cannot set up the sequential judge")
        return None, f"statistical judge unusable: {e}"


def fallback_bound(spec: MetricSpec, judge: JudgeSettings) -> Bound:
    """Fixed bounds standing in for the sequential test while it is not available."""
    if spec.type == "error-rate":
        return Bound(max=spec.max if spec.max is not None else judge.circuit_breaker,
                     max_ratio=spec.max_ratio if spec.max_ratio is not None else judge.r1)
    if spec.type == "latency":
        return Bound(max=spec.max, max_ratio=spec.max_ratio if spec.max_ratio is not None else judge.r1, unit="s")
    return Bound(max=spec.max, max_ratio=spec.max_ratio, counted=False)


def own_bound(spec: MetricSpec) -> Bound:
    return Bound(max=spec.max, max_ratio=spec.max_ratio, unit="s" if spec.type == "latency" else "",
                 counted=spec.type != "custom")


def _combine(verdicts: Sequence[str]) -> VerdictName:
    if any(v == "Fail" for v in verdicts):
        return "Fail"
    if verdicts and all(v == "Pass" for v in verdicts):
        return "Pass"
    return "Inconclusive"


def _result(j: MetricJudgement, extra: str = "") -> MetricResult:
    msg = "; ".join(x for x in (j.message, extra) if x)
    return MetricResult(name=j.metric, verdict=j.verdict.value, value=j.value, stable_value=j.stable_value,
                        bound=j.bound[:512], message=msg[:1024])


def _with_counts(result: MetricResult, meas: Optional[Measurement]) -> MetricResult:
    """The interval's counts beside the verdict: what the operator's own metrics count."""
    e = meas.evidence if meas is not None else None
    if e is None or not e.counted:
        return result
    return result.model_copy(update={"canary_requests": e.canary.requests, "canary_bad": e.canary.bad,
                                     "stable_requests": e.stable.requests, "stable_bad": e.stable.bad})


@dataclasses.dataclass
class _Plan:
    """How each metric of a spec is judged."""

    sequential: list[MetricSpec]  # judged by the sequential test
    bounds: dict[str, Bound]  # fixed bounds (threshold metrics, fallbacks, guard rails)
    notes: dict[str, str]  # per-metric remarks shown in status
    problems: dict[str, str]  # per-metric configuration errors: never Pass


class Analyzer:
    """Stateless between calls except for cached HTTP clients; safe to call from threads."""

    def __init__(self, config: OperatorConfig, *, secret_reader: Optional[SecretReader] = None,
                 client_factory: Callable[[PromEndpoint], QueryClient] = PrometheusClient,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time):
        self.config = config
        self.secret_reader = secret_reader
        self._clients = ClientCache(client_factory)
        self._shared = SharedQueries(clock)
        self._clock = clock
        self._wall = wall_clock
        sequential_available()  # import it now: the first analysis must not pay for it

    # ------------------------------------------------------------- validation

    def validate(self, spec: AnalysisSpec, namespace: Optional[str] = None) -> list[str]:
        """Problems that make the analysis unusable (for an InvalidSpec condition); [] if fine.

        With ``namespace`` (the Release's), also whether that namespace may use the
        Prometheus it names, and whether each custom query stays inside it (:mod:`.scope`).
        """
        problems: list[str] = []
        pin = True
        try:
            inst = self.config.find_prometheus(spec.prometheus, namespace)
            pin = namespace is not None and not inst.unscoped_queries_from(namespace)
        except NotAllowed as e:
            problems.append(str(e))
        plan = self._plan(spec, sequential_available=True)
        problems += [f"spec.analysis.metrics[{name}]: {why}" for name, why in plan.problems.items()]
        if namespace is not None and pin:
            problems += [f"spec.analysis.metrics[{m.name}].query: {why}"
                         for m, why in self._unscoped(spec, namespace, plan)]
        return problems

    def _unscoped(self, spec: AnalysisSpec, namespace: str, plan: "_Plan") -> list[tuple[MetricSpec, str]]:
        """Custom metrics whose query, rendered for ``namespace``, reads outside it."""
        out = []
        for m in spec.metrics:
            if m.type != "custom" or m.name in plan.problems or not m.query:
                continue
            try:
                promql = queries.render(m.query, queries.variables(
                    namespace=namespace, release="release", workload="release-b", canary="release-b",
                    stable="release-a", window_="60s"))
                scope.check_scoped(promql, self.config.source(m.source).namespace_label, namespace)
            except (queries.TemplateError, ConfigError) as e:
                out.append((m, str(e)))
        return out

    def _plan(self, spec: AnalysisSpec, *, sequential_available: bool, why_not: str = "") -> _Plan:
        plan = _Plan([], {}, {}, {})
        for m in spec.metrics:
            try:
                if m.metric_prefix:
                    queries.APP.with_prefix(m.metric_prefix)
                if m.type == "custom":
                    queries.check_template(m.query or "")
                elif m.query:
                    raise queries.TemplateError(f"query is only used by custom metrics, not {m.type}")
                self.config.source(m.source)
            except (queries.TemplateError, ConfigError) as e:
                plan.problems[m.name] = str(e)
                continue
            if m.type == "custom" or m.judge == "threshold":
                bound = own_bound(m)
                if bound.max is None and bound.max_ratio is None:
                    plan.problems[m.name] = "a fixed-bound metric needs max or maxRatio"
                    continue
                plan.bounds[m.name] = bound
                if m.type == "custom" and m.judge == "sequential":
                    plan.notes[m.name] = "custom metrics have no counts to test: judged by fixed bounds"
            elif sequential_available:
                plan.sequential.append(m)
                if m.max is not None or m.max_ratio is not None:
                    plan.bounds[m.name] = own_bound(m)  # guard rails on top of the test
            else:
                plan.bounds[m.name] = fallback_bound(m, spec.judge)
                plan.notes[m.name] = f"{why_not}: judged by fixed bounds {plan.bounds[m.name].describe()} instead"
        return plan

    # --------------------------------------------------------------- plumbing

    def _endpoint(self, spec: AnalysisSpec, namespace: str) -> tuple[PromEndpoint, bool]:
        """The Release's Prometheus (if ``namespace`` may use it) and whether its custom queries are pinned."""
        endpoint = self.config.resolve_prometheus(spec.prometheus, self.secret_reader, namespace)
        pin = not self.config.find_prometheus(spec.prometheus, namespace).unscoped_queries_from(namespace)
        return endpoint, pin

    def _deadline_s(self, spec: AnalysisSpec) -> float:
        """The whole call's budget: inside the interval, and the configured ceiling."""
        return max(1.0, min(self.config.analysis_deadline_s, 0.8 * parse_duration(spec.interval)))

    def _reader(self, endpoint: PromEndpoint, deadline: Deadline, pin_namespace: bool,
                shared_for: Optional[AnalysisSpec] = None) -> MetricReader:
        """``shared_for``: the analysis whose built-in series may be asked once for every Release judged at
        the same instant (``ripcord.analysis.sharing``); None: this reader's own queries only."""
        client = self._clients.get(endpoint)
        if shared_for is None:
            return MetricReader(client, self.config.metric_sources, deadline=deadline,
                                query_timeout_s=endpoint.timeout_s, pin_namespace=pin_namespace)
        interval = parse_duration(shared_for.interval)
        return MetricReader(client, self.config.metric_sources, deadline=deadline, query_timeout_s=endpoint.timeout_s,
                            pin_namespace=pin_namespace, shared=self._shared, prometheus=(endpoint.name, endpoint.url),
                            keep_s=3 * interval, shares=lambda at: on_grid(at + endpoint.settle_s, interval))

    # ---------------------------------------------------------------- analyze

    def analyze(self, spec: AnalysisSpec, target: Target, *, since: float, now: float, step: int, weight: float,
                judge_state: Optional[Mapping[str, Any]], failed_checks: int,
                mirror: Optional[bool] = None) -> AnalysisOutcome:
        """Judge the interval ``since -> now`` (unix seconds); bounded by the analysis deadline.

        ``mirror`` (a Release that mirrors traffic): True in the mirror phase, when the canary's
        requests are mirrored copies; False after it, when series of mirrored requests are left out
        (a source's ``mirrorLabel``). None: no mirror, the queries as always."""
        state = dict(judge_state or {})
        threshold_state = dict(state.get("threshold") or {})
        threshold_state.setdefault("failedChecks", failed_checks)
        seq_state: Optional[Mapping[str, Any]] = state.get("sequential") or None
        step_states: dict[str, Any] = dict(state.get("steps") or {})

        def unavailable(error: str) -> AnalysisOutcome:
            return AnalysisOutcome(
                verdict="Unavailable",
                metrics=[MetricResult(name=m.name, verdict="Unavailable", message=error[:1024]) for m in spec.metrics],
                judge_state=dict(judge_state or {}), failed_checks=failed_checks, failing=None, error=error)

        if not spec.metrics:
            return AnalysisOutcome("Pass", [], dict(judge_state or {}), failed_checks, None, None)
        try:
            endpoint, pin = self._endpoint(spec, target.namespace)
        except (NotAllowed, ConfigError) as e:
            return unavailable(str(e))
        if now <= since:
            return AnalysisOutcome("Inconclusive", [MetricResult(name=m.name, verdict="Inconclusive",
                                                                 message="no time elapsed since the last sample")
                                                    for m in spec.metrics],
                                   dict(judge_state or {}), failed_checks, None, None)

        available, why_not = sequential_available()
        plan = self._plan(spec, sequential_available=available, why_not=why_not)
        seq_judge: Optional[Judge] = None
        if plan.sequential:
            seq_judge, why_not = load_sequential(spec.judge, plan.sequential)
            if seq_judge is None:  # settings refused: judge those metrics by fixed bounds
                plan = self._plan(spec, sequential_available=False, why_not=why_not)

        # The deadline covers the Prometheus round trips, the only part that can hang.
        deadline = Deadline(self._deadline_s(spec), clock=self._clock)
        reader = self._reader(endpoint, deadline, pin, shared_for=spec)
        reader.exclude_mirrored = mirror is False
        window = Window(t_prev=since - endpoint.settle_s, t_now=now - endpoint.settle_s, step=step, weight=weight,
                        scrape_interval_s=endpoint.scrape_interval_s)
        measurements: dict[str, Measurement] = {}
        try:
            for m in spec.metrics:
                if m.name in plan.problems:
                    continue
                measurements[m.name] = reader.measure(m, target, window)
        except MetricsUnavailable as e:
            return unavailable(str(e))
        except Exception as e:  # noqa: BLE001 - a bug here must hold the rollout, never pass or crash it
            log.exception("analysis of %s/%s failed", target.namespace, target.release)
            return unavailable(failures.internal_error(e))

        results: dict[str, MetricResult] = {}
        for name, why in plan.problems.items():
            results[name] = MetricResult(name=name, verdict="Inconclusive", message=f"invalid metric: {why}"[:1024])
        for name, meas in measurements.items():
            if meas.problem:
                results[name] = MetricResult(name=name, verdict="Inconclusive", message=meas.problem[:1024])

        # fixed bounds: one check over all threshold-judged metrics, on the step so far
        by_name = {m.name: m for m in spec.metrics}
        evidences = []
        for name, meas in measurements.items():
            if name not in plan.bounds or meas.evidence is None or meas.problem:
                continue
            step_states[name], c_value, s_value = fold_step(step_states.get(name), by_name[name], meas, step)
            evidences.append(dataclasses.replace(meas.evidence, canary_value=c_value, stable_value=s_value))
        threshold_results: dict[str, MetricJudgement] = {}
        if evidences:
            tj = ThresholdJudge(plan.bounds, failure_threshold=spec.failure_threshold, min_requests=spec.min_requests)
            judged = tj.update(threshold_state, evidences)
            threshold_state = dict(judged.state)
            threshold_results = {j.metric: j for j in judged.metrics}

        # the sequential test: one judge, one state, all its metrics together
        seq_results: dict[str, MetricJudgement] = {}
        seq_evidence = [ev for m in plan.sequential if m.name in measurements
                        and (ev := measurements[m.name].evidence) is not None and not measurements[m.name].problem]
        if seq_judge is not None and seq_evidence:
            try:
                judged = seq_judge.update(seq_state, seq_evidence)
                seq_state = dict(judged.state)
                seq_results = {j.metric: j for j in judged.metrics}
            except Exception as e:  # noqa: BLE001 - a judge bug holds the rollout, never passes it
                log.exception("sequential judge failed")
                for m in plan.sequential:
                    results.setdefault(m.name, MetricResult(name=m.name, verdict="Inconclusive",
                                                            message=f"statistical judge error: {e}"[:1024]))

        for m in spec.metrics:
            if m.name in results:
                continue
            meas = measurements[m.name]
            note = "; ".join(x for x in (plan.notes.get(m.name, ""), meas.message) if x)
            seq, fixed = seq_results.get(m.name), threshold_results.get(m.name)
            if seq is not None and fixed is not None:
                verdict = _combine([seq.verdict.value, fixed.verdict.value])
                results[m.name] = MetricResult(
                    name=m.name, verdict=verdict, value=seq.value, stable_value=seq.stable_value,
                    bound=f"{seq.bound}; guard {fixed.bound}"[:512],
                    message="; ".join(x for x in (seq.message, f"guard: {fixed.message}", note) if x)[:1024])
            elif seq is not None:
                results[m.name] = _result(seq, note)
            elif fixed is not None:
                results[m.name] = _result(fixed, note)
            else:
                results[m.name] = MetricResult(name=m.name, verdict="Inconclusive", message=note or "not judged")

        ordered = [_with_counts(results[m.name], measurements.get(m.name)) for m in spec.metrics]
        verdict = _combine([r.verdict for r in ordered])
        failing = next((r for r in ordered if r.verdict == "Fail"), None)
        new_state = {"v": STATE_VERSION, "threshold": threshold_state, "sequential": seq_state or {},
                     "steps": {k: v for k, v in step_states.items() if k in plan.bounds}}
        return AnalysisOutcome(verdict=verdict, metrics=ordered, judge_state=new_state,
                               failed_checks=int(threshold_state.get("failedChecks", 0)),
                               failing=failing, error=None)

    # --------------------------------------------------------------- preflight

    def _judged(self, spec: AnalysisSpec) -> tuple[list[feasibility.Judged], Optional[Judge], list[str]]:
        """How each counted metric will be judged, the sequential judge, and notes."""
        available, why_not = sequential_available()
        plan = self._plan(spec, sequential_available=available, why_not=why_not)
        seq_judge: Optional[Judge] = None
        if plan.sequential:
            seq_judge, why_not = load_sequential(spec.judge, plan.sequential)
            if seq_judge is None:
                plan = self._plan(spec, sequential_available=False, why_not=why_not)
        seq_names = {m.name for m in plan.sequential} if seq_judge is not None else set()
        judged = [feasibility.Judged(m.name, m.type, m.name in seq_names, plan.bounds.get(m.name, own_bound(m)))
                  for m in spec.metrics if m.type != "custom" and m.name not in plan.problems]
        notes = [f"{name}: {note}" for name, note in plan.notes.items()]
        return judged, seq_judge if seq_names else None, notes

    def assess(self, spec: AnalysisSpec, traffic: Mapping[str, "feasibility.Traffic | str"], *, weights: Sequence[int],
               canary_pods: int, stable_pods: int, notes: Sequence[str] = ()) -> feasibility.PreflightResult:
        """Pure: the pre-flight for given traffic (per metric), without Prometheus. Used by
        :meth:`preflight`, and by the docs test at the traffic each example states."""
        judged, seq_judge, plan_notes = self._judged(spec)
        if not judged:
            what = "no metrics: pod-health gates only" if not spec.metrics else "no counted metric to check"
            return feasibility.unknown(what, [*plan_notes, *notes])
        return feasibility.assess(judged, traffic, judge=seq_judge, weights=[float(w) for w in weights],
                                  canary_pods=canary_pods, stable_pods=stable_pods,
                                  step_s=parse_duration(spec.step_duration),
                                  max_duration_s=parse_duration(spec.max_duration), min_requests=spec.min_requests,
                                  notes=[*plan_notes, *notes])

    def preflight(self, spec: AnalysisSpec, target: Target, *, weights: list[int], canary_pods: int,
                  stable_pods: int) -> feasibility.PreflightResult:
        """Whether the judges can reach a verdict within ``maxDuration`` with the current traffic.

        The request rate is read over a short recent window (:func:`feasibility.recent_window_s`:
        at most 60 s, at least 4 scrapes), so it reflects the traffic of the last minute; the
        stable's error (or slow) share over a few minutes. Never raises for metrics problems:
        an unreadable Prometheus gives ``feasible=None``. ``str()`` of the result (``.message``)
        is the text for ``status.analysis.preflight``.
        """
        if not spec.metrics:
            return feasibility.unknown("no metrics: pod-health gates only")
        problems = self.validate(spec, target.namespace)
        if problems:
            return feasibility.unknown("invalid analysis: " + "; ".join(problems))
        try:
            endpoint, pin = self._endpoint(spec, target.namespace)
        except (NotAllowed, ConfigError) as e:
            return feasibility.unknown(redact(f"pre-flight skipped: {e}"))
        end = self._wall() - endpoint.settle_s
        recent = feasibility.recent_window_s(endpoint.scrape_interval_s)
        baseline = feasibility.baseline_window_s(endpoint.scrape_interval_s)
        reader = self._reader(endpoint, Deadline(self._deadline_s(spec), clock=self._clock), pin)
        traffic: dict[str, feasibility.Traffic | str] = {}
        notes: list[str] = []
        try:
            for m in spec.metrics:
                if m.type == "custom":
                    continue
                now = reader.measure(m, target, Window(t_prev=end - recent, t_now=end, step=0, weight=0.0,
                                                       scrape_interval_s=endpoint.scrape_interval_s))
                base = reader.measure(m, target, Window(t_prev=end - baseline, t_now=end, step=0, weight=0.0,
                                                        scrape_interval_s=endpoint.scrape_interval_s))
                if now.evidence is None or base.evidence is None:
                    traffic[m.name] = (now.problem or base.problem or "not measured")
                    continue
                both = now.evidence.stable.requests + now.evidence.canary.requests
                stable = base.evidence.stable
                traffic[m.name] = feasibility.Traffic(
                    total_rps=both / recent, bad_share=stable.bad / stable.requests if stable.requests > 0 else 0.0,
                    window_s=recent)
        except MetricsUnavailable as e:
            notes.append(f"pre-flight incomplete: metrics unavailable: {e}")
            for m in spec.metrics:
                traffic.setdefault(m.name, f"metrics unavailable: {e}")
        return self.assess(spec, traffic, weights=weights, canary_pods=canary_pods, stable_pods=stable_pods,
                           notes=notes)
