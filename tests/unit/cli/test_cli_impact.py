"""Impact in requests: counter arithmetic over the rollout window, against a fake Prometheus."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ripcord.analysis.counters import Sample
from ripcord.analysis.prometheus import MetricsUnavailable
from ripcord.analysis.queries import APP, GATEWAY
from ripcord.cli import impact
from tests.unit.cli import engine_runs as runs


def app(pod: str, code: str, value: float) -> Sample:
    return Sample({"namespace": "shop", "pod": pod, "code": code, "job": "pods", "instance": pod}, value)


def gw(workload: str, code: str, value: float) -> Sample:
    return Sample({"namespace": "shop", "route": "web", "backend_workload": workload, "code": code,
                   "job": "gateway", "instance": "gw:18080"}, value)


def test_new_canary_pods_count_from_zero_and_the_stable_from_its_value_before() -> None:
    before = [app("web-a-5d8f-aaaaa", "200", 1000)]
    after = [app("web-a-5d8f-aaaaa", "200", 1800), app("web-a-5d8f-aaaaa", "500", 2),
             app("web-b-77c4-bbbbb", "200", 132), app("web-b-77c4-bbbbb", "500", 68)]
    got = impact.source_impact(APP, before, after, "web-b", "web-a")
    assert got is not None
    assert (got.canary_requests, got.canary_errors) == (200, 68)
    assert (got.stable_requests, got.stable_errors) == (802, 2)
    assert got.excess_errors == 68 - 200 * (2 / 802)


def test_long_lived_gateway_counters_count_only_their_growth() -> None:
    before = [gw("web-b", "200", 5000), gw("web-b", "503", 10), gw("web-a", "200", 9000)]
    after = [gw("web-b", "200", 5150), gw("web-b", "503", 60), gw("web-a", "200", 9800)]
    got = impact.source_impact(GATEWAY, before, after, "web-b", "web-a")
    assert got is not None
    assert (got.canary_requests, got.canary_errors, got.stable_requests) == (200, 50, 800)
    assert got.canary_share == 0.2


def gw_failed(service: str, code: str, flags: str, value: float) -> Sample:
    """A request the gateway could not deliver: the Service the route chose, no workload, no pod."""
    return Sample({"namespace": "shop", "route": "web", "backend_service": service, "backend_workload": "unknown",
                   "backend_pod": "unknown", "code": code, "flags": flags, "job": "gateway",
                   "instance": "gw:18080"}, value)


def test_refused_timed_out_and_no_upstream_requests_count_against_the_canary() -> None:
    """Issue 16: the post-mortem said "about 2 failed requests" for ~1,900 503s the clients saw."""
    def ok(workload: str, value: float) -> Sample:
        return Sample({**gw(workload, "200", value).labels, "backend_service": workload,
                       "backend_pod": f"{workload}-1-x"}, value)

    before = [ok("web-a", 9000), ok("web-b", 400)]
    after = [ok("web-a", 10000), ok("web-b", 420), gw_failed("web-b", "503", "UF", 1900),
             gw_failed("web-b", "504", "UT", 30), gw_failed("web-b", "503", "UO", 5),
             gw_failed("web-a", "503", "UF", 1)]
    got = impact.source_impact(GATEWAY, before, after, "web-b", "web-a")
    assert got is not None
    assert (got.canary_requests, got.canary_errors) == (20 + 1900 + 30 + 5, 1935)
    assert (got.stable_requests, got.stable_errors) == (1001, 1)


def test_measure_asks_by_backend_service_and_by_workload() -> None:
    run = runs.rolled_back_on_metric()
    release = run.release()
    entry = release["status"]["history"][0]
    start = dt.datetime.fromisoformat(entry["startedAt"].replace("Z", "+00:00")).timestamp()
    prom = FakeProm({"gateway_requests_total":
                     lambda at: [] if at <= start else [gw_failed("web-b", "503", "UF", 40)]})
    got = impact.measure(prom, release, entry, run.now)
    gw_calls = [q for q, _ in prom.calls if "gateway_requests_total" in q]
    assert gw_calls and all('backend_service=~"web-b|web-a"' in q and " or " in q
                            and 'backend_workload=~"web-b|web-a"' in q for q in gw_calls), gw_calls
    (source,) = [s for s in got.sources if s.source == "gateway"]
    assert (source.canary_requests, source.canary_errors) == (40, 40)


def test_no_series_means_no_data_not_zero_errors() -> None:
    assert impact.source_impact(APP, [], [], "web-b", "web-a") is None


def test_canary_slot_comes_from_the_started_entry() -> None:
    run = runs.rolled_back_on_metric()
    release = run.release()
    entry = release["status"]["history"][0]
    assert impact.canary_slot(release, entry) == "b"
    entry["timeline"] = []  # older operators: fall back on the slot that is not the stable one
    assert impact.canary_slot(release, entry) == "b"


class FakeProm:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, float]] = []

    def query(self, promql: str, at: float, *, timeout: float) -> list[Sample]:
        self.calls.append((promql, at))
        for key, value in self.answers.items():
            if key in promql:
                if isinstance(value, Exception):
                    raise value
                return value(at) if callable(value) else value
        return []


def test_measure_reads_both_ends_of_the_window_with_last_over_time() -> None:
    run = runs.rolled_back_on_metric()
    release = run.release()
    entry = release["status"]["history"][0]
    start = dt.datetime.fromisoformat(entry["startedAt"].replace("Z", "+00:00"))
    ended = dt.datetime.fromisoformat(entry["endedAt"].replace("Z", "+00:00"))
    now = ended + dt.timedelta(minutes=10)

    def app_samples(at: float) -> list[Sample]:
        if at <= start.timestamp():
            return [app("web-a-5d8f-aaaaa", "200", 100)]
        return [app("web-a-5d8f-aaaaa", "200", 500), app("web-b-77c4-bbbbb", "500", 30),
                app("web-b-77c4-bbbbb", "200", 70)]

    prom = FakeProm({"http_requests_total": app_samples, "gateway_requests_total": MetricsUnavailable("down")})
    got = impact.measure(prom, release, entry, now)
    assert (got.canary_deployment, got.stable_deployment) == ("web-b", "web-a")
    assert got.start == start and got.end == ended + dt.timedelta(seconds=impact.SETTLE_S)
    assert [s.source for s in got.sources] == ["app"]
    assert (got.sources[0].canary_requests, got.sources[0].canary_errors) == (100, 30)
    assert got.notes == ("gateway: down",)
    app_calls = [c for c in prom.calls if "http_requests_total" in c[0]]
    assert [at for _, at in app_calls] == [start.timestamp(), got.end.timestamp()]
    assert all(q.startswith("last_over_time(http_requests_total{namespace=\"shop\",pod=~\"(web-b|web-a)-")
               for q, _ in app_calls)


def test_measure_never_queries_the_future() -> None:
    run = runs.progressing()
    release = run.release()
    entry = release["status"]["history"][0]
    prom = FakeProm({})
    got = impact.measure(prom, release, entry, run.now)
    assert got.end == run.now
    assert all(at <= run.now.timestamp() for _, at in prom.calls)
    assert len(got.notes) == 2 and not got.sources
