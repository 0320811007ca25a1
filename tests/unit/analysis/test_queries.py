"""PromQL selectors of the built-in sources and custom-template rendering."""
from __future__ import annotations

import re

import pytest

from ripcord.analysis import queries as q


def test_app_selector_uses_namespace_and_pod_regex():
    assert q.requests_query(q.APP, "shop", ["web-b"]) == \
        'last_over_time(http_requests_total{namespace="shop",pod=~"web-b-[a-z0-9]+-[a-z0-9]+"}[5m])'
    assert q.duration_query(q.APP, "shop", ["web-a", "web-b"]) == \
        'last_over_time(http_request_duration_seconds_bucket{namespace="shop",pod=~"(web-a|web-b)-[a-z0-9]+-[a-z0-9]+"}[5m])'
    assert q.selector(q.APP, "shop", ["web-b"]) == '{namespace="shop",pod=~"web-b-[a-z0-9]+-[a-z0-9]+"}'


def test_gateway_query_selects_by_backend_service_or_answering_workload():
    assert q.requests_query(q.GATEWAY, "shop", ["web-a", "web-b"], lookback="10m") == (
        'last_over_time(gateway_requests_total{namespace="shop",backend_service=~"web-a|web-b"}[10m])'
        ' or last_over_time(gateway_requests_total{namespace="shop",backend_workload=~"web-a|web-b"}[10m])')
    assert q.selectors(q.GATEWAY, "shop", ["web-b"]) == [
        '{namespace="shop",backend_service="web-b"}', '{namespace="shop",backend_workload="web-b"}']
    assert q.selector(q.GATEWAY, "shop", ["web-b"]) == '{namespace="shop",backend_workload="web-b"}'
    assert q.duration_query(q.GATEWAY, "shop", ["web-b"]).startswith(
        'last_over_time(gateway_request_duration_seconds_bucket{namespace="shop",backend_service="web-b"}[5m]) or ')


def test_istio_preset_selects_by_destination_service_or_workload():
    assert q.selectors(q.ISTIO, "shop", ["web-b"]) == [
        '{destination_service_namespace="shop",destination_service_name="web-b",reporter="source"}',
        '{destination_workload_namespace="shop",destination_workload="web-b",reporter="source"}']
    assert q.ISTIO.duration_unit_s == 0.001 and q.ISTIO.code_label == "response_code"


def test_istio_destination_and_app_select_by_what_answered_only():
    # the pod's own view counts only requests it accepted: its workload says it all
    assert q.selectors(q.ISTIO_DESTINATION, "shop", ["web-b"]) == [
        '{destination_workload_namespace="shop",destination_workload="web-b",reporter="destination"}']
    assert len(q.selectors(q.APP, "shop", ["web-a", "web-b"])) == 1
    assert " or " not in q.requests_query(q.APP, "shop", ["web-b"])


# Series as the sandbox gateway and Istio's client side label a request the data plane could
# not deliver: the backend Service the route chose, no (or an "unknown") workload and pod.
REFUSED_GATEWAY = {"namespace": "shop", "route": "web", "backend_service": "web-b", "backend_workload": "unknown",
                   "backend_pod": "unknown", "code": "503", "flags": "UF"}
NO_UPSTREAM_EMPTY = {"namespace": "shop", "route": "web", "backend_service": "web-b", "code": "503", "flags": "UF"}
REFUSED_ISTIO = {"reporter": "source", "destination_service_name": "web-b", "destination_service_namespace": "shop",
                 "destination_workload": "unknown", "destination_workload_namespace": "unknown",
                 "response_code": "503", "response_flags": "UF"}


def test_a_failure_no_pod_answered_belongs_to_the_backend_the_route_chose():
    owner = q.workload_of(q.GATEWAY, ["web-a", "web-b"])
    assert owner(REFUSED_GATEWAY) == "web-b"
    assert owner(NO_UPSTREAM_EMPTY) == "web-b"
    assert owner({**REFUSED_GATEWAY, "backend_service": "web-a"}) == "web-a"
    istio = q.workload_of(q.ISTIO, ["web-a", "web-b"])
    assert istio(REFUSED_ISTIO) == "web-b"
    assert istio({**REFUSED_ISTIO, "destination_service_name": "other"}) is None


def test_replicas_provider_one_service_for_both_falls_back_to_the_answering_workload():
    # the replicas provider routes to the app Service "web": only the answering pod tells
    owner = q.workload_of(q.GATEWAY, ["web-a", "web-b"])
    assert owner({"backend_service": "web", "backend_workload": "web-b", "backend_pod": "web-b-1-x"}) == "web-b"
    assert owner({"backend_service": "web", "backend_workload": "unknown", "backend_pod": "unknown"}) is None
    istio = q.workload_of(q.ISTIO, ["web-a", "web-b"])
    assert istio({"destination_service_name": "web", "destination_workload": "web-a"}) == "web-a"


def test_service_attribution_is_a_source_setting():
    p = q.SourceProfile.from_mapping(q.GATEWAY, {"serviceLabel": None})
    assert q.selectors(p, "shop", ["web-b"]) == ['{namespace="shop",backend_workload="web-b"}']
    assert q.workload_of(p, ["web-b"])(REFUSED_GATEWAY) is None
    p = q.SourceProfile.from_mapping(q.APP, {"serviceLabel": "service"})
    assert q.selectors(p, "shop", ["web-b"])[0] == '{namespace="shop",service="web-b"}'
    assert q.workload_of(p, ["web-a", "web-b"])({"service": "web-a", "pod": "web-b-1-x"}) == "web-a"


def test_pod_regex_separates_slots_and_similar_names():
    rx = re.compile(q.pod_regex("web-a"))
    assert rx.fullmatch("web-a-5d9c7b8f4-x2x7k")
    assert not rx.fullmatch("web-b-5d9c7b8f4-x2x7k")
    # a release named web-a has slots web-a-a / web-a-b: their pods are not web-a's
    assert not rx.fullmatch("web-a-a-5d9c7b8f4-x2x7k")
    assert not rx.fullmatch("xweb-a-5d9c7b8f4-x2x7k")


def test_dots_in_names_are_literal():
    assert q.pod_regex("web.v2") == "web[.]v2-[a-z0-9]+-[a-z0-9]+"
    assert not re.fullmatch(q.pod_regex("web.v2"), "webxv2-abc-def")


def test_workload_of_by_pod_and_by_label():
    owner = q.workload_of(q.APP, ["web-a", "web-b"])
    assert owner({"pod": "web-b-7c9d-abcde"}) == "web-b"
    assert owner({"pod": "web-a-7c9d-abcde"}) == "web-a"
    assert owner({"pod": "web-c-7c9d-abcde"}) is None
    owner = q.workload_of(q.GATEWAY, ["web-a", "web-b"])
    assert owner({"backend_workload": "web-a", "backend_pod": "x"}) == "web-a"
    assert owner({"backend_workload": "other"}) is None


@pytest.mark.parametrize("bad", ['web"}', "Web", "web_a", "", "a" * 300, 'x",pod=~".*'])
def test_names_that_could_inject_promql_are_refused(bad):
    with pytest.raises(q.TemplateError):
        q.requests_query(q.APP, "shop", [bad])
    with pytest.raises(q.TemplateError):
        q.requests_query(q.APP, bad, ["web-a"])


def test_prefix_override():
    p = q.APP.with_prefix("myapp_http")
    assert p.requests_metric == "myapp_http_requests_total"
    assert p.duration_metric == "myapp_http_request_duration_seconds_bucket"
    with pytest.raises(q.TemplateError):
        q.APP.with_prefix("bad prefix")


def test_profile_from_config_mapping():
    p = q.SourceProfile.from_mapping(q.GATEWAY, {"requestsMetric": "edge_requests_total", "codeLabel": "status"})
    assert p.requests_metric == "edge_requests_total" and p.code_label == "status"
    assert p.workload_label == "backend_workload"
    with pytest.raises(ValueError, match="unknown metric source setting"):
        q.SourceProfile.from_mapping(q.APP, {"requestMetric": "x"})


def test_window_follows_the_scrape_interval():
    assert q.window(10, 1) == "10s"
    assert q.window(10, 15) == "60s"
    assert q.window(2.2, 0.5) == "3s"


def _vars(**over):
    base = dict(namespace="shop", release="web", workload="web-b", canary="web-b", stable="web-a", window_="30s")
    base.update(over)
    return q.variables(**base)


def test_render_all_variables():
    t = ('sum(rate(app_errors_total{namespace="{{namespace}}",pod=~"{{ pod_regex }}"}[{{window}}]))'
         ' # {{release}} {{workload}} {{canary}} {{stable}}')
    out = q.render(t, _vars())
    assert out == ('sum(rate(app_errors_total{namespace="shop",pod=~"web-b-[a-z0-9]+-[a-z0-9]+"}[30s]))'
                   ' # web web-b web-b web-a')


def test_render_for_the_stable_workload():
    out = q.render('x{pod=~"{{pod_regex}}"} {{workload}}', _vars(workload="web-a"))
    assert out == 'x{pod=~"web-a-[a-z0-9]+-[a-z0-9]+"} web-a'


def test_unknown_variable_is_a_clear_error():
    with pytest.raises(q.TemplateError, match=r"unknown variable\(s\) \{\{target\}\}"):
        q.render("x{a='{{target}}'}", _vars())
    with pytest.raises(q.TemplateError, match="needs a query"):
        q.check_template("  ")
    with pytest.raises(q.TemplateError):
        q.check_template("x{{ namespace")


def test_variables_validate_values():
    with pytest.raises(q.TemplateError):
        _vars(namespace='shop"}')
    with pytest.raises(q.TemplateError):
        _vars(window_="30 s")


def test_quote_escapes():
    assert q.quote('a"b\\c') == '"a\\"b\\\\c"'
