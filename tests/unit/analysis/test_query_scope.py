"""Custom queries stay inside the Release's namespace; the built-in queries already do."""
from __future__ import annotations

import pytest

from ripcord.analysis import queries
from ripcord.analysis.scope import ScopeError, check_scoped, unscoped_selectors

NS = "shop"


@pytest.mark.parametrize("promql", [
    'sum(rate(http_requests_total{namespace="shop",code=~"5.."}[1m]))',
    'sum(rate(a{namespace="shop"}[1m])) / sum(rate(b{namespace="shop"}[1m]))',
    'max_over_time(rate(a{namespace="shop"}[1m])[5m:30s])',
    'histogram_quantile(0.99, sum by (le) (rate(h_bucket{namespace="shop",pod=~"web-.*"}[1m])))',
    'a{namespace="shop"} offset 5m',
    'a{namespace="shop", namespace="other"}',  # both must hold: selects nothing outside shop
    'a{namespace="shop" or namespace="shop", job="x"}',
    'vector(1)',
    'scalar(a{namespace="shop"}) + 1',
])
def test_pinned_queries_pass(promql: str) -> None:
    assert unscoped_selectors(promql, "namespace", NS) == []
    check_scoped(promql, "namespace", NS)


@pytest.mark.parametrize("promql, unscoped", [
    ("up", ["up{}"]),
    ('sum(rate(http_requests_total{namespace="payments"}[5m]))', ['http_requests_total{namespace="payments"}']),
    ('a{namespace="shop"} / b', ["b{}"]),  # one pinned selector does not cover the other
    ('a{namespace=~"shop"}', ['a{namespace=~"shop"}']),  # a regex could match more
    ('a{namespace=~"shop|payments"}', ['a{namespace=~"shop|payments"}']),
    ('a{namespace!="kube-system"}', ['a{namespace!="kube-system"}']),
    ('a{kubernetes_namespace="shop"}', ['a{kubernetes_namespace="shop"}']),  # another label
    ('{__name__=~".+"}', ['{__name__=~".+"}']),
    ('max_over_time(a[5m:1m])', ["a{}"]),  # inside a subquery
    ('a{namespace="shop"} and on() b{job="x"}', ['b{job="x"}']),
    ('count(a{namespace="shop" or job="x"})', None),  # one alternative escapes
])
def test_unpinned_selectors_are_found(promql: str, unscoped: list[str] | None) -> None:
    found = unscoped_selectors(promql, "namespace", NS)
    assert found if unscoped is None else found == unscoped
    with pytest.raises(ScopeError, match=r'every selector must pin the Release\'s namespace with namespace="shop"'):
        check_scoped(promql, "namespace", NS)


def test_the_source_label_is_the_one_checked() -> None:
    istio = 'sum(rate(istio_requests_total{destination_workload_namespace="shop"}[1m]))'
    check_scoped(istio, "destination_workload_namespace", NS)
    with pytest.raises(ScopeError):
        check_scoped(istio, "namespace", NS)


def test_unparseable_query_is_a_scope_error_with_the_parser_message() -> None:
    with pytest.raises(ScopeError, match="not valid PromQL"):
        check_scoped("sum(", "namespace", NS)


def test_the_message_is_bounded_and_names_a_few_selectors() -> None:
    promql = " + ".join(f"m{i}" for i in range(200))
    with pytest.raises(ScopeError) as err:
        check_scoped(promql, "namespace", NS)
    assert len(str(err.value)) <= 1000 and "and 197 more" in str(err.value)


@pytest.mark.parametrize("profile", list(queries.PRESETS.values()), ids=list(queries.PRESETS))
@pytest.mark.parametrize("build", [queries.requests_query, queries.duration_query], ids=["requests", "duration"])
@pytest.mark.parametrize("workloads", [["web-a"], ["web-b", "web-a"]], ids=["one", "both"])
def test_built_in_queries_pin_the_namespace(profile: queries.SourceProfile, build, workloads: list[str]) -> None:
    """Every built-in query of every preset selects only the Release's namespace."""
    promql = build(profile, NS, workloads)
    labels = (profile.namespace_label, profile.service_namespace_label or profile.namespace_label)
    assert unscoped_selectors(promql, labels, NS) == []  # each branch pins its own namespace label
    assert unscoped_selectors(promql, labels, "other") != []


def test_built_in_queries_refuse_a_namespace_that_is_not_a_name() -> None:
    with pytest.raises(queries.TemplateError):
        queries.requests_query(queries.APP, 'shop"} or up{x="', ["web-a"])


def test_the_documented_custom_example_is_pinned() -> None:
    template = 'sum(rate(queue_errors_total{namespace="{{namespace}}",pod=~"{{pod_regex}}"}[{{window}}]))'
    promql = queries.render(template, queries.variables(namespace=NS, release="web", workload="web-b",
                                                        canary="web-b", stable="web-a", window_="30s"))
    check_scoped(promql, "namespace", NS)
