"""The analyzer end to end over a fake Prometheus (pure: no sockets, no clock)."""
from __future__ import annotations

import json
import sys
import types
from typing import Any, Callable, Mapping, Sequence

import pytest

from ripcord.analysis import analyzer as analyzer_mod
from ripcord.analysis.analyzer import Analyzer, Target
from ripcord.analysis.counters import Sample
from ripcord.analysis.judge.base import Judgement, MetricJudgement, Preflight, StepEvidence, Verdict
from ripcord.analysis.prometheus import MetricsUnavailable, QueryError
from ripcord.api.models import AnalysisSpec, MetricSpec, PrometheusRef
from ripcord.config import parse_config

TARGET = Target(namespace="shop", release="web", canary="web-b", stable="web-a")
SETTLE = 1.0
NS_LABELS = {"namespace", "destination_service_namespace", "destination_workload_namespace"}
T_SINCE, T_NOW = 1000.0, 1010.0


class FakeProm:
    """Answers instant queries from series functions of time; records what was asked."""

    def __init__(self) -> None:
        self.series: dict[str, Callable[[float], list[Sample]]] = {}
        self.exact: dict[str, list[Sample]] = {}
        self.asked: list[tuple[str, float, float]] = []
        self.fail: Exception | None = None

    def query(self, promql: str, at: float, *, timeout: float) -> list[Sample]:
        self.asked.append((promql, at, timeout))
        if self.fail is not None:
            raise self.fail
        if promql in self.exact:
            return self.exact[promql]
        name = promql.split("{", 1)[0].removeprefix("last_over_time(")
        found = self.series[name](at) if name in self.series else []
        # A real answer carries each series' namespace (the query selected on it): series written
        # without one are the target's.
        return [s if NS_LABELS & set(s.labels) else Sample({**s.labels, "namespace": TARGET.namespace}, s.value)
                for s in found]


def requests_series(per_workload: Mapping[str, tuple[float, float]]) -> Callable[[float], list[Sample]]:
    """Cumulative http_requests_total: workload -> (requests/s, error share), one pod each, from t=0."""
    def at(t: float) -> list[Sample]:
        out = []
        for workload, (rps, err) in per_workload.items():
            pod = f"{workload}-5d8f9c-x{workload[-1]}x1z"
            ok, bad = rps * t * (1 - err), rps * t * err
            out.append(Sample({"namespace": "shop", "pod": pod, "code": "200", "instance": pod}, ok))
            if bad > 0:  # the error series exists only once there was an error
                out.append(Sample({"namespace": "shop", "pod": pod, "code": "500", "instance": pod}, bad))
        return out
    return at


def histogram_series(per_workload: Mapping[str, Mapping[str, float]]) -> Callable[[float], list[Sample]]:
    """Cumulative buckets: workload -> {le: requests/s at or below le}."""
    def at(t: float) -> list[Sample]:
        return [Sample({"namespace": "shop", "pod": f"{w}-5d8f9c-abcde", "le": le}, rate * t)
                for w, buckets in per_workload.items() for le, rate in buckets.items()]
    return at


CONFIG = parse_config({"prometheus": {"default": {"url": "http://prom:9090", "scrapeIntervalSeconds": 1,
                                                  "settleSeconds": SETTLE, "timeoutSeconds": 2}}}, env={})


@pytest.fixture
def prom() -> FakeProm:
    return FakeProm()


@pytest.fixture(autouse=True)
def no_sequential(monkeypatch):
    """By default the statistical judge is absent (it is another module's job)."""
    monkeypatch.setattr(analyzer_mod, "SEQUENTIAL_MODULE", "ripcord.analysis.judge._absent_for_tests")


def make(prom: FakeProm, config=CONFIG) -> Analyzer:
    return Analyzer(config, client_factory=lambda ep: prom, wall_clock=lambda: T_NOW)


def spec(*metrics: MetricSpec, **kw: Any) -> AnalysisSpec:
    if not metrics:
        kw.setdefault("pod_health_only", True)  # no metric: only valid when the Release says so
    return AnalysisSpec(metrics=list(metrics), interval="10s", **kw)


ERR_THRESHOLD = MetricSpec(name="errors", type="error-rate", judge="threshold", max=0.05)


def analyze(a: Analyzer, s: AnalysisSpec, *, since=T_SINCE, now=T_NOW, state=None, failed=0, step=0):
    return a.analyze(s, TARGET, since=since, now=now, step=step, weight=10.0, judge_state=state, failed_checks=failed)


def test_error_rate_fail_names_metric_value_and_bound(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.01), "web-b": (10, 0.5)})
    out = analyze(make(prom), spec(ERR_THRESHOLD, min_requests=10))
    assert out.verdict == "Fail"
    assert out.failing is not None and out.failing.name == "errors"
    assert out.failing.value == pytest.approx(0.5)
    assert out.failing.stable_value == pytest.approx(0.01)
    assert out.failing.bound == "<= 0.05"
    assert "canary 50/100 errors" in out.failing.message
    assert out.failed_checks == 1
    json.dumps(out.judge_state)  # storable in status


def test_healthy_canary_passes_with_enough_requests(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.0), "web-b": (10, 0.0)})
    out = analyze(make(prom), spec(ERR_THRESHOLD, min_requests=50))
    assert out.verdict == "Pass", out.metrics
    assert out.metrics[0].value == 0.0  # no error series at all: zero errors, not no data


def test_no_canary_requests_is_inconclusive(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.0), "web-b": (0, 0.0)})
    out = analyze(make(prom), spec(ERR_THRESHOLD))
    assert out.verdict == "Inconclusive"
    assert "no canary requests" in out.metrics[0].message


def test_queries_are_lagged_by_the_settling_time_and_bounded(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.0), "web-b": (10, 0.0)})
    analyze(make(prom), spec(ERR_THRESHOLD))
    times = sorted({at for _, at, _ in prom.asked})
    assert times == [T_SINCE - SETTLE, T_NOW - SETTLE]
    assert all(0 < timeout <= 2 for _, _, timeout in prom.asked)
    assert prom.asked[0][0] == \
        'last_over_time(http_requests_total{namespace="shop",pod=~"(web-a|web-b)-[a-z0-9]+-[a-z0-9]+"}[5m])'


def test_prometheus_outage_is_unavailable_and_keeps_state(prom):
    prom.fail = MetricsUnavailable("Prometheus default: no answer within 2.0s")
    state = {"v": 1, "threshold": {"failedChecks": 2}, "sequential": {}}
    out = analyze(make(prom), spec(ERR_THRESHOLD), state=state, failed=2)
    assert out.verdict == "Unavailable"
    assert "no answer within" in (out.error or "")
    assert out.judge_state == state and out.failed_checks == 2
    assert all(m.verdict == "Unavailable" for m in out.metrics)
    assert out.failing is None


def test_consecutive_failures_carry_over_through_state(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.0), "web-b": (10, 0.5)})
    a = make(prom)
    s = spec(ERR_THRESHOLD, failure_threshold=2)
    first = analyze(a, s)
    assert first.verdict == "Inconclusive" and first.failed_checks == 1
    second = analyze(a, s, since=T_NOW, now=T_NOW + 10, state=first.judge_state, failed=first.failed_checks)
    assert second.verdict == "Fail" and second.failed_checks == 2


def test_failed_checks_argument_seeds_a_fresh_state(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.0), "web-b": (10, 0.5)})
    out = analyze(make(prom), spec(ERR_THRESHOLD, failure_threshold=3), failed=2)
    assert out.verdict == "Fail" and out.failed_checks == 3


def test_disallowed_prometheus_is_refused(prom):
    s = spec(ERR_THRESHOLD, prometheus=PrometheusRef(address="http://10.0.0.1:9090"))
    a = make(prom)
    assert any("not allowed" in p for p in a.validate(s))
    out = analyze(a, s)
    assert out.verdict == "Unavailable" and "not allowed" in (out.error or "")
    assert prom.asked == []


def test_latency_quantile_against_stable(prom):
    prom.series["http_request_duration_seconds_bucket"] = histogram_series({
        "web-a": {"0.1": 80, "0.5": 89, "1": 90, "+Inf": 90},
        "web-b": {"0.1": 1, "0.5": 2, "1": 10, "+Inf": 10},
    })
    lat = MetricSpec(name="latency", type="latency", judge="threshold", max_ratio=2.0, quantile=0.9,
                     threshold_seconds=0.5)
    out = analyze(make(prom), spec(lat, min_requests=10))
    m = out.metrics[0]
    assert out.verdict == "Fail"
    assert m.value == pytest.approx(0.5 + 0.5 * (9 - 2) / 8)  # canary p90 inside (0.5, 1]
    assert m.stable_value < 0.5
    assert "slower than 0.5s: canary 80/100" in m.message


def test_gateway_source_selects_by_backend_service_or_workload(prom):
    def gw(t: float) -> list[Sample]:
        return [Sample({"namespace": "shop", "backend_service": "web-a", "backend_workload": "web-a",
                        "backend_pod": "web-a-1-a", "code": "200", "job": "gateway", "instance": "gw"}, 90 * t),
                Sample({"namespace": "shop", "backend_service": "web-b", "backend_workload": "web-b",
                        "backend_pod": "web-b-1-a", "code": "200", "job": "gateway", "instance": "gw"}, 8 * t),
                Sample({"namespace": "shop", "backend_service": "web-b", "backend_workload": "web-b",
                        "backend_pod": "web-b-1-a", "code": "504", "flags": "UT", "job": "gateway", "instance": "gw"},
                       2 * t)]
    prom.series["gateway_requests_total"] = gw
    m = MetricSpec(name="gw-errors", type="error-rate", source="gateway", judge="threshold", max=0.1)
    out = analyze(make(prom), spec(m, min_requests=10))
    assert out.verdict == "Fail"
    assert out.metrics[0].value == pytest.approx(0.2)
    assert prom.asked[0][0] == (
        'last_over_time(gateway_requests_total{namespace="shop",backend_service=~"web-a|web-b"}[5m])'
        ' or last_over_time(gateway_requests_total{namespace="shop",backend_workload=~"web-a|web-b"}[5m])')


def test_canary_failures_no_pod_answered_fail_it(prom):
    """Issue 16: every canary pod crashed, the gateway answers its share with 503 UF (service
    set, workload and pod "unknown"). Those are the canary's errors, not "no data"."""
    base = {"namespace": "shop", "route": "web", "job": "gateway", "instance": "gw"}

    def gw(t: float) -> list[Sample]:
        return [Sample({**base, "backend_service": "web-a", "backend_workload": "web-a", "backend_pod": "web-a-1-a",
                        "code": "200", "flags": ""}, 50 * t),
                Sample({**base, "backend_service": "web-b", "backend_workload": "unknown", "backend_pod": "unknown",
                        "code": "503", "flags": "UF"}, 50 * t)]
    prom.series["gateway_requests_total"] = gw
    m = MetricSpec(name="gw-errors", type="error-rate", source="gateway", judge="threshold", max=0.05)
    out = analyze(make(prom), spec(m, min_requests=10))
    assert out.verdict == "Fail", out.metrics
    assert out.metrics[0].value == pytest.approx(1.0)
    assert "canary 500/500 errors" in out.metrics[0].message, out.metrics[0].message
    # the interval's counts go to status (and from there to the operator's own metrics)
    m = out.metrics[0]
    assert (m.canary_requests, m.canary_bad, m.stable_requests, m.stable_bad) == (500, 500, 500, 0)


def test_custom_metric_renders_per_workload(prom):
    tmpl = 'sum(rate(app_queue_errors_total{namespace="{{namespace}}",pod=~"{{pod_regex}}"}[{{window}}]))'
    q_canary = 'sum(rate(app_queue_errors_total{namespace="shop",pod=~"web-b-[a-z0-9]+-[a-z0-9]+"}[10s]))'
    q_stable = 'sum(rate(app_queue_errors_total{namespace="shop",pod=~"web-a-[a-z0-9]+-[a-z0-9]+"}[10s]))'
    prom.exact[q_canary] = [Sample({}, 3.0)]
    prom.exact[q_stable] = [Sample({}, 1.0)]
    m = MetricSpec(name="queue", type="custom", query=tmpl, max_ratio=2.0)
    out = analyze(make(prom), spec(m))
    assert out.verdict == "Fail"
    assert (out.metrics[0].value, out.metrics[0].stable_value) == (3.0, 1.0)
    assert "judged by fixed bounds" in out.metrics[0].message


def test_custom_metric_with_several_series_is_a_clear_problem(prom):
    m = MetricSpec(name="queue", type="custom", query='x{namespace="{{namespace}}"}', max=1)
    prom.exact['x{namespace="shop"}'] = [Sample({"a": "1"}, 1.0), Sample({"a": "2"}, 2.0)]
    out = analyze(make(prom), spec(m))
    assert out.verdict == "Inconclusive" and "returned 2 series" in out.metrics[0].message


def test_bad_promql_is_inconclusive_not_unavailable(prom):
    m = MetricSpec(name="queue", type="custom", query="sum(", max=1)
    out = analyze(make(prom), spec(m))
    assert out.verdict == "Inconclusive" and "not valid PromQL" in out.metrics[0].message
    assert prom.asked == []  # refused before it was sent


def test_promql_refused_by_prometheus_is_inconclusive_not_unavailable(prom):
    m = MetricSpec(name="queue", type="custom", query='sum(x{namespace="{{namespace}}"})', max=1)
    prom.fail = QueryError("Prometheus refused the query: bad data")
    out = analyze(make(prom), spec(m))
    assert out.verdict == "Inconclusive" and "refused the query" in out.metrics[0].message


def test_validate_reports_configuration_problems(prom):
    a = make(prom)
    # the first two are refused by the Release API already; the analyzer checks again (defence in depth)
    s = AnalysisSpec.model_construct(interval="10s", metrics=[
        MetricSpec.model_construct(name="c", type="custom", max=1),
        MetricSpec.model_construct(name="t", type="error-rate", judge="threshold"),
        MetricSpec(name="u", type="custom", query="x{a='{{target}}'}", max=1)])
    problems = a.validate(s)
    assert any(p.startswith("spec.analysis.metrics[c]") and "needs a query" in p for p in problems)
    assert any(p.startswith("spec.analysis.metrics[t]") and "max or maxRatio" in p for p in problems)
    assert any(p.startswith("spec.analysis.metrics[u]") and "{{target}}" in p for p in problems)
    out = analyze(a, s)
    assert out.verdict == "Inconclusive"


def test_any_fail_fails_all_pass_passes(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.0), "web-b": (10, 0.0)})
    prom.series["http_request_duration_seconds_bucket"] = histogram_series({
        "web-a": {"0.1": 90, "+Inf": 90}, "web-b": {"0.1": 10, "+Inf": 10}})
    lat_ok = MetricSpec(name="latency", type="latency", judge="threshold", max=0.5)
    lat_bad = MetricSpec(name="latency", type="latency", judge="threshold", max=0.01)
    assert analyze(make(prom), spec(ERR_THRESHOLD, lat_ok, min_requests=10)).verdict == "Pass"
    out = analyze(make(prom), spec(ERR_THRESHOLD, lat_bad, min_requests=10))
    assert out.verdict == "Fail" and out.failing.name == "latency"
    assert [m.verdict for m in out.metrics] == ["Pass", "Fail"]


def test_without_the_statistical_judge_sequential_metrics_use_fallback_bounds(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.01), "web-b": (10, 0.5)})
    out = analyze(make(prom), spec(MetricSpec(name="error-rate"), min_requests=10))
    assert out.verdict == "Fail"
    assert "statistical judge not installed" in out.metrics[0].message
    assert "<= 0.2" in out.metrics[0].bound  # judge.circuitBreaker as the absolute bound


# ------------------------------------------------------------- with a sequential judge

class StubSequential:
    """Records evidence; per metric, fails when the canary's cumulative bad share exceeds
    2x the stable's, passes after two looks."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.seen: list[StepEvidence] = []

    def update(self, state: Mapping[str, Any] | None, evidence: Sequence[StepEvidence]) -> Judgement:
        all_st = {k: dict(v) for k, v in (state or {}).items()}
        judged = []
        for e in evidence:
            self.seen.append(e)
            st = all_st.setdefault(e.metric, {"c": [0, 0], "s": [0, 0], "n": 0})
            st["c"] = [st["c"][0] + e.canary.requests, st["c"][1] + e.canary.bad]
            st["s"] = [st["s"][0] + e.stable.requests, st["s"][1] + e.stable.bad]
            st["n"] += 1
            c = st["c"][1] / st["c"][0] if st["c"][0] else None
            s = st["s"][1] / st["s"][0] if st["s"][0] else None
            v = Verdict.FAIL if c is not None and s is not None and c > 2 * s + 0.01 else \
                Verdict.PASS if st["n"] >= 2 else Verdict.INCONCLUSIVE
            judged.append(MetricJudgement(e.metric, v, c, s, "ratio <= 1.1", f"looks {st['n']}"))
        v = Verdict.FAIL if any(j.verdict is Verdict.FAIL for j in judged) else \
            Verdict.PASS if judged and all(j.verdict is Verdict.PASS for j in judged) else Verdict.INCONCLUSIVE
        return Judgement(v, judged, all_st)

    def preflight(self, **kw: Any) -> Preflight:
        self.preflight_args = kw
        return Preflight(1.5, 120.0, True, f"smallest ratio 1.5 at {kw['total_rps']:.0f} rps")


@pytest.fixture
def sequential(monkeypatch):
    mod = types.ModuleType("fake_sequential_judge")
    created: list[StubSequential] = []

    class SequentialSettings:
        @classmethod
        def from_mapping(cls, data: Mapping[str, Any]) -> dict:
            return dict(data)

    def make_judge(settings: Any) -> StubSequential:
        j = StubSequential(settings)
        created.append(j)
        return j

    mod.SequentialSettings = SequentialSettings
    mod.SequentialJudge = make_judge
    monkeypatch.setitem(sys.modules, "fake_sequential_judge", mod)
    monkeypatch.setattr(analyzer_mod, "SEQUENTIAL_MODULE", "fake_sequential_judge")
    return created


def test_sequential_judge_gets_counts_and_keeps_state_per_metric(prom, sequential):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.01), "web-b": (10, 0.01)})
    a = make(prom)
    s = spec(MetricSpec(name="error-rate"))
    first = analyze(a, s)
    assert first.verdict == "Inconclusive"
    e = sequential[-1].seen[0]
    assert (e.canary.requests, e.canary.bad) == pytest.approx((100, 1))
    assert (e.stable.requests, e.stable.bad) == pytest.approx((900, 9))
    assert e.canary.per_pod and e.duration_s == 10 and e.weight == 10.0
    assert sequential[-1].settings["alpha"] == 0.05  # JudgeSettings (the API default) passed through from_mapping
    assert sequential[-1].settings["metrics"] == ["error-rate"]
    state = json.loads(json.dumps(first.judge_state))
    second = analyze(a, s, since=T_NOW, now=T_NOW + 10, state=state)
    assert second.verdict == "Pass"
    assert second.judge_state["sequential"]["error-rate"]["n"] == 2


def test_sequential_with_absolute_guard_rail(prom, sequential):
    # the stable is broken (50% errors); the canary (a fix) is at 10%: the test alone
    # passes it, the absolute guard rail max=0.05 still fails it.
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.5), "web-b": (10, 0.1)})
    s = spec(MetricSpec(name="error-rate", max=0.05), min_requests=10)
    out = analyze(make(prom), s)
    assert out.verdict == "Fail"
    assert "guard <= 0.05" in out.metrics[0].bound


def test_preflight_uses_the_stable_rates(prom, sequential):
    prom.series["http_requests_total"] = requests_series({"web-a": (100, 0.01)})
    got = make(prom).preflight(spec(MetricSpec(name="error-rate")), TARGET, weights=[5, 10, 25], canary_pods=3,
                               stable_pods=3)
    assert got.feasible is True and got.fix == ""
    assert "error-rate: smallest ratio 1.5 at 100 rps" in got.message and str(got) == got.message
    args = sequential[-1].preflight_args
    assert args["stable_error_rate"] == pytest.approx(0.01)
    assert args["weights"] == [5.0, 10.0, 25.0] and args["canary_pods"] == 3
    assert args["metrics"] == 1 and args["metric"] == "error-rate"


def test_preflight_rate_is_the_traffic_of_the_last_seconds(prom, sequential):
    """Issue 16: 20 s after a 50 rps load began, a window of minutes read 16.6 rps."""
    started = T_NOW - SETTLE - 20.0  # the load began 20 s before the (lagged) end of the window

    def load(t: float) -> list[Sample]:
        done = 50.0 * max(0.0, t - started)
        return [Sample({"namespace": "shop", "pod": "web-a-5d8f9c-xax1z", "code": "200"}, done)] if done else []

    prom.series["http_requests_total"] = load
    got = make(prom).preflight(spec(MetricSpec(name="error-rate")), TARGET, weights=[5], canary_pods=3,
                               stable_pods=3)
    assert sequential[-1].preflight_args["total_rps"] == pytest.approx(50.0)
    assert "traffic 50 rps over the last 15 s" in got.message, got.message
    windows = sorted({round(T_NOW - SETTLE - at) for q, at, _ in prom.asked if at < T_NOW - SETTLE})
    assert max(windows) >= 120 and min(windows) == 15  # share over minutes, rate over the last 15 s


def test_preflight_without_traffic_says_so(prom):
    got = make(prom).preflight(spec(MetricSpec(name="error-rate")), TARGET, weights=[5], canary_pods=1,
                               stable_pods=3)
    assert got.feasible is None
    assert "no traffic on the stable" in got.message
    assert "statistical judge not installed" in got.message


def test_preflight_survives_an_outage(prom):
    prom.fail = MetricsUnavailable("down")
    got = make(prom).preflight(spec(ERR_THRESHOLD), TARGET, weights=[5], canary_pods=1, stable_pods=3)
    assert got.feasible is None and "metrics unavailable: down" in got.message


def test_preflight_without_metrics_is_unknown(prom):
    got = make(prom).preflight(spec(), TARGET, weights=[5], canary_pods=1, stable_pods=3)
    assert got.feasible is None and "pod-health gates only" in got.summary and not prom.asked


def test_preflight_infeasible_with_the_real_judge_names_a_computed_fix(prom, monkeypatch):
    """The README's old shape: 3 + 3 pods, sequential judge, 1% at 50 rps, 6 min: infeasible."""
    monkeypatch.setattr(analyzer_mod, "SEQUENTIAL_MODULE", "ripcord.analysis.judge.sequential")
    prom.series["http_requests_total"] = requests_series({"web-a": (50, 0.01)})
    s = spec(MetricSpec(name="error-rate"), step_duration="1m", max_duration="6m")
    got = make(prom).preflight(s, TARGET, weights=[5, 10, 25, 50], canary_pods=3, stable_pods=3)
    assert got.feasible is False, got.message
    assert got.summary.startswith("Infeasible: error-rate cannot reach a verdict within maxDuration 6m")
    assert "use the threshold judge for error-rate" in got.fix, got.fix  # 3 stable pods: no pass at any size
    got = make(prom).preflight(s, TARGET, weights=[5, 10, 25, 50], canary_pods=3, stable_pods=30)
    assert got.feasible is False and "canary pods (traffic.canaryReplicas:" in got.fix, got.fix


def test_sequential_judge_is_told_its_metrics_and_which_are_latencies(prom, sequential):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.01), "web-b": (10, 0.01)})
    prom.series["http_request_duration_seconds_bucket"] = histogram_series({
        "web-a": {"0.5": 85, "+Inf": 90}, "web-b": {"0.5": 9, "+Inf": 10}})
    s = spec(MetricSpec(name="error-rate"), MetricSpec(name="p99", type="latency", judge="sequential"))
    out = analyze(make(prom), s)
    judge = sequential[-1]
    assert judge.settings["metrics"] == ["error-rate", "p99"]
    assert judge.settings["latencyMetrics"] == ["p99"]
    lat = [e for e in judge.seen if e.metric == "p99"][0]
    assert (lat.canary.requests, lat.canary.bad) == pytest.approx((100, 10))  # slow = above 0.5 s
    assert set(out.judge_state["sequential"]) == {"error-rate", "p99"}


def test_with_the_real_sequential_judge(prom, monkeypatch):
    """When the statistical judge is installed: a clearly bad canary fails, the state round-trips."""
    pytest.importorskip("ripcord.analysis.judge.sequential")
    monkeypatch.setattr(analyzer_mod, "SEQUENTIAL_MODULE", "ripcord.analysis.judge.sequential")
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.01), "web-b": (10, 0.5)})
    a = make(prom)
    s = spec(MetricSpec(name="error-rate"))
    out = analyze(a, s)
    assert out.verdict == "Fail", out.metrics
    assert out.failing is not None and out.failing.value == pytest.approx(0.5)
    json.dumps(out.judge_state)
    again = analyze(a, s, since=T_NOW, now=T_NOW + 10, state=json.loads(json.dumps(out.judge_state)))
    assert again.verdict == "Fail"


def test_an_unexpected_error_holds_instead_of_crashing(prom):
    prom.fail = RuntimeError("boom")
    out = analyze(make(prom), spec(ERR_THRESHOLD), failed=1)
    assert out.verdict == "Unavailable"
    assert out.error == "the analysis failed on an internal error (RuntimeError; details in the operator log)"
    assert out.failed_checks == 1


def test_fixed_bounds_judge_the_step_so_far_and_restart_with_each_step(prom):
    def series(t: float) -> list[Sample]:
        # canary: 10 rps; 5 errors/s until t=1010, none after; stable: 90 rps, no errors
        bad = 5 * min(t, 1010.0)
        return [Sample({"pod": "web-b-5d8f9c-abcde", "code": "200"}, 10 * t - bad),
                Sample({"pod": "web-b-5d8f9c-abcde", "code": "500"}, bad),
                Sample({"pod": "web-a-5d8f9c-abcde", "code": "200"}, 90 * t)]
    prom.series["http_requests_total"] = series
    a = make(prom)
    s = spec(MetricSpec(name="errors", type="error-rate", judge="threshold", max=0.9), min_requests=10)
    one = analyze(a, s, since=1001.0, now=1011.0, step=0)       # 10 s with errors
    two = analyze(a, s, since=1011.0, now=1021.0, step=0, state=one.judge_state)  # 10 s clean
    three = analyze(a, s, since=1021.0, now=1031.0, step=1, state=two.judge_state)  # next step
    assert one.metrics[0].value == pytest.approx(0.5)
    assert two.metrics[0].value == pytest.approx(0.25)  # the step so far: 50 of 200
    assert three.metrics[0].value == pytest.approx(0.0)  # a new step starts afresh
    assert three.judge_state["steps"]["errors"]["step"] == 1


def test_latency_ratio_is_not_judged_on_a_handful_of_requests(prom):
    # First interval: the canary's first 10 requests include one slow one, so its "p99" is
    # that request, 9x the stable's. Judged then, a healthy canary would fail. With
    # minRequests the ratio waits for the step's evidence; 200 fast requests later the p99
    # of the step is back among the fast ones.
    def buckets(t: float) -> list[Sample]:  # t is the (lagged) evaluation time
        fast, slow = (0, 0) if t < 1005 else (9, 1) if t < 1015 else (209, 1)
        c = {"0.005": fast, "0.05": fast + slow, "+Inf": fast + slow}
        return ([Sample({"pod": "web-b-5d8f9c-abcde", "le": le}, v) for le, v in c.items()]
                + [Sample({"pod": "web-a-5d8f9c-abcde", "le": le}, 90 * t) for le in ("0.005", "0.05", "+Inf")])
    prom.series["http_request_duration_seconds_bucket"] = buckets
    lat = MetricSpec(name="latency", type="latency", judge="threshold", max_ratio=2.0, quantile=0.99)
    a = make(prom)
    naive = analyze(a, spec(lat, min_requests=0), since=1001.0, now=1011.0)
    assert naive.verdict == "Fail" and naive.metrics[0].value > 0.04
    s = spec(lat, min_requests=100)
    one = analyze(a, s, since=1001.0, now=1011.0)
    assert one.verdict == "Inconclusive" and "after 100 canary requests in the step (10 so far)" in one.metrics[0].message
    two = analyze(a, s, since=1011.0, now=1021.0, state=json.loads(json.dumps(one.judge_state)))
    assert two.verdict == "Pass", two.metrics
    assert two.metrics[0].value < 0.005


def test_releases_share_queries_on_the_interval_grid_and_ask_alone_off_it(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.0), "web-b": (10, 0.0)})
    a = make(prom)
    blog = Target(namespace="blog", release="api", canary="api-b", stable="api-a")
    s = spec(ERR_THRESHOLD)

    def both(since: float, now: float) -> None:
        for target in (TARGET, blog):
            a.analyze(s, target, since=since, now=now, step=0, weight=10.0, judge_state=None, failed_checks=0)

    both(990.0, 1000.0)  # both Releases are now known to the family's union
    prom.asked.clear()
    both(1000.0, 1010.0)  # on the grid: the start was fetched last round, the end once for both
    assert len(prom.asked) == 1 and 'namespace=~"blog|shop"' in prom.asked[0][0]

    prom.asked.clear()
    both(1010.0, 1013.7)  # a step's end, off the grid: each Release asks for its own series only
    ends = [q for q, at, _ in prom.asked if at == 1013.7 - SETTLE]
    assert len(ends) == 2 and {'namespace="shop"' in q for q in ends} == {True, False}
    assert not any("=~\"blog|shop\"" in q for q in ends)


def test_on_grid_is_a_multiple_of_the_interval() -> None:
    from ripcord.analysis.sharing import on_grid
    assert on_grid(1_796_000_010.0, 10.0) and on_grid(1_796_000_010.0000002, 10.0)
    assert not on_grid(1_796_000_013.7, 10.0) and not on_grid(5.0, 0.0)


def test_an_off_grid_instant_is_asked_once_for_the_next_analysis_too(prom):
    prom.series["http_requests_total"] = requests_series({"web-a": (90, 0.0), "web-b": (10, 0.0)})
    a = make(prom)
    s = spec(ERR_THRESHOLD)
    a.analyze(s, TARGET, since=1003.2, now=1013.2, step=0, weight=10.0, judge_state=None, failed_checks=0)
    a.analyze(s, TARGET, since=1013.2, now=1020.0, step=0, weight=10.0, judge_state=None, failed_checks=0)
    times = [at for _, at, _ in prom.asked]
    assert sorted(times) == [1003.2 - SETTLE, 1013.2 - SETTLE, 1020.0 - SETTLE]  # 1013.2 asked once


def test_an_older_template_s_pod_in_the_canary_s_slot_is_not_the_canary(prom):
    current = requests_series({"web-a": (90, 0.0), "web-b": (10, 0.0)})

    def with_old_pod(t: float) -> list[Sample]:
        # a rolled-back version's pod in slot b: its last failed requests, scraped after the window began
        failed = 0.0 if t < T_SINCE else 20.0
        return current(t) + [Sample({"namespace": "shop", "pod": "web-b-7c4f00-old00", "code": "500"}, failed)]

    prom.series["http_requests_total"] = with_old_pod
    s = spec(ERR_THRESHOLD)
    mixed = analyze(make(prom), s)
    assert mixed.verdict == "Fail"  # by slot alone, the old pod's errors are the canary's
    target = Target(namespace="shop", release="web", canary="web-b", stable="web-a", canary_pods="web-b-5d8f9c-")
    own = make(prom).analyze(s, target, since=T_SINCE, now=T_NOW, step=0, weight=10.0, judge_state=None,
                             failed_checks=0)
    assert own.verdict == "Pass", own


def test_a_failure_that_reached_no_pod_stays_the_canary_s_with_its_replica_set_known():
    from ripcord.analysis.metrics import _attribution
    from ripcord.analysis.queries import GATEWAY
    target = Target(namespace="shop", release="web", canary="web-b", stable="web-a", canary_pods="web-b-5d8f9c-")
    of = _attribution(GATEWAY, target)
    pod = GATEWAY.pod_label or "pod"
    refused = {"backend_service": "web-b", "backend_workload": "unknown", pod: "unknown", "code": "503"}
    assert of(refused) == "web-b"
    assert of({"backend_service": "web-b", "backend_workload": "web-b", pod: "web-b-5d8f9c-abcde"}) == "web-b"
    assert of({"backend_service": "web-b", "backend_workload": "web-b", pod: "web-b-7c4f00-old00"}) is None
