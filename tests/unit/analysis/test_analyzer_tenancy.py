"""The analyzer holds a Release to its namespace: its Prometheus, and its custom queries."""
from __future__ import annotations

from typing import Any

import pytest

from ripcord.analysis import analyzer as analyzer_mod
from ripcord.analysis.analyzer import Analyzer, Target
from ripcord.analysis.counters import Sample
from ripcord.api.models import AnalysisSpec, MetricSpec, PrometheusRef
from ripcord.config import parse_config

TARGET = Target(namespace="shop", release="web", canary="web-b", stable="web-a")
CONFIG = parse_config({"prometheus": {
    "default": {"url": "http://prom:9090", "scrapeIntervalSeconds": 1, "settleSeconds": 1},
    "instances": {
        "ops": {"url": "http://prom-ops:9090", "namespaces": ["ops"]},
        "shared": {"url": "http://prom-shared:9090", "namespaces": ["*"], "crossNamespaceQueries": ["shop"]},
    }}}, env={})
PINNED = 'sum(rate(queue_errors_total{namespace="{{namespace}}",pod=~"{{pod_regex}}"}[{{window}}]))'
LEAKY = 'sum(rate(queue_errors_total{namespace="payments"}[{{window}}]))'


class FakeProm:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, promql: str, at: float, *, timeout: float) -> list[Sample]:
        self.asked.append(promql)
        return [Sample({}, 1.0)]


@pytest.fixture(autouse=True)
def no_sequential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analyzer_mod, "SEQUENTIAL_MODULE", "ripcord.analysis.judge._absent_for_tests")


def custom(query: str, name: str = "queue") -> MetricSpec:
    return MetricSpec(name=name, type="custom", query=query, max=5)


def spec(*metrics: MetricSpec, **kw: Any) -> AnalysisSpec:
    return AnalysisSpec(metrics=list(metrics), interval="10s", **kw)


def run(prom: FakeProm, s: AnalysisSpec, target: Target = TARGET) -> Any:
    a = Analyzer(CONFIG, client_factory=lambda ep: prom)
    return a.analyze(s, target, since=1000.0, now=1010.0, step=0, weight=10.0, judge_state=None, failed_checks=0)


def test_validate_names_the_query_field_of_an_unpinned_custom_metric() -> None:
    a = Analyzer(CONFIG, client_factory=lambda ep: FakeProm())
    problems = a.validate(spec(custom(PINNED, "ok"), custom(LEAKY, "leak")), "shop")
    assert len(problems) == 1, problems
    assert problems[0].startswith('spec.analysis.metrics[leak].query: every selector must pin the Release\'s '
                                  'namespace with namespace="shop"')
    assert 'queue_errors_total{namespace="payments"}' in problems[0]


def test_validate_without_a_namespace_checks_only_the_template() -> None:
    a = Analyzer(CONFIG, client_factory=lambda ep: FakeProm())
    assert a.validate(spec(custom(LEAKY))) == []


def test_validate_refuses_an_instance_the_namespace_may_not_use() -> None:
    a = Analyzer(CONFIG, client_factory=lambda ep: FakeProm())
    problems = a.validate(spec(custom(PINNED), prometheus=PrometheusRef(name="ops")), "shop")
    assert problems and problems[0].startswith("spec.analysis.prometheus: Prometheus 'ops' may not be used")


def test_cross_namespace_queries_where_the_configuration_allows_them() -> None:
    a = Analyzer(CONFIG, client_factory=lambda ep: FakeProm())
    assert a.validate(spec(custom(LEAKY), prometheus=PrometheusRef(name="shared")), "shop") == []
    assert a.validate(spec(custom(LEAKY), prometheus=PrometheusRef(name="shared")), "other") != []


def test_an_unpinned_query_is_never_sent_and_never_passes() -> None:
    prom = FakeProm()
    out = run(prom, spec(custom(LEAKY)))
    assert prom.asked == []
    assert out.verdict == "Inconclusive"
    assert "must pin the Release's namespace" in out.metrics[0].message


def test_a_pinned_query_is_sent_as_written() -> None:
    prom = FakeProm()
    out = run(prom, spec(custom(PINNED)))
    assert out.verdict != "Unavailable"
    assert prom.asked and all('namespace="shop"' in q for q in prom.asked)


def test_an_allowed_cross_namespace_query_is_sent() -> None:
    prom = FakeProm()
    run(prom, spec(custom(LEAKY), prometheus=PrometheusRef(name="shared")))
    assert prom.asked and all('namespace="payments"' in q for q in prom.asked)


def test_analysis_against_a_forbidden_instance_asks_nothing() -> None:
    prom = FakeProm()
    out = run(prom, spec(custom(PINNED), prometheus=PrometheusRef(name="ops")))
    assert out.verdict == "Unavailable" and "may not be used from namespace 'shop'" in (out.error or "")
    assert prom.asked == []


def test_an_analysis_error_message_has_no_credentials() -> None:
    class Broken:
        def query(self, promql: str, at: float, *, timeout: float) -> list[Sample]:
            raise RuntimeError("boom at http://admin:hunter2@prom:9090/api/v1/query?access_token=xyz")

    a = Analyzer(CONFIG, client_factory=lambda ep: Broken())
    out = a.analyze(spec(custom(PINNED)), TARGET, since=1000.0, now=1010.0, step=0, weight=10.0, judge_state=None,
                    failed_checks=0)
    assert out.verdict == "Unavailable"
    assert "hunter2" not in (out.error or "") and "xyz" not in (out.error or "") and "admin" not in (out.error or "")
