"""Counter arithmetic: deltas, resets, missing series, histograms."""
from __future__ import annotations

import math

import pytest

from ripcord.analysis.counters import (
    Delta, Histogram, Sample, counter_deltas, count_at_most, error_matcher, histogram,
    per_pod_histograms, pod_of, quantile, request_counts, slow_count, split,
)


def s(value: float, **labels: str) -> Sample:
    return Sample(labels, value)


def by_code(deltas: list[Delta]) -> dict[tuple[str, str], float]:
    return {(d.labels.get("pod", ""), d.labels.get("code", "")): d.value for d in deltas}


IS_5XX = error_matcher("code", "5..")


def test_plain_growth_is_the_difference():
    prev = [s(100, pod="p1", code="200"), s(4, pod="p1", code="500")]
    now = [s(150, pod="p1", code="200"), s(6, pod="p1", code="500")]
    assert by_code(counter_deltas(prev, now)) == {("p1", "200"): 50, ("p1", "500"): 2}


def test_missing_error_series_with_requests_is_zero_errors():
    prev = [s(100, pod="p1", code="200")]
    now = [s(180, pod="p1", code="200")]
    counts = request_counts(counter_deltas(prev, now), is_error=IS_5XX, pod_label="pod")
    assert counts.has_data
    assert counts.requests == 80 and counts.errors == 0
    assert counts.error_ratio == 0.0


def test_first_error_series_appearing_counts_from_zero():
    prev = [s(100, pod="p1", code="200")]
    now = [s(190, pod="p1", code="200"), s(10, pod="p1", code="503")]
    counts = request_counts(counter_deltas(prev, now), is_error=IS_5XX)
    assert (counts.requests, counts.errors) == (100, 10)


def test_no_requests_is_no_data_not_zero_errors():
    prev = [s(100, pod="p1", code="200"), s(7, pod="p1", code="500")]
    now = [s(100, pod="p1", code="200"), s(7, pod="p1", code="500")]
    counts = request_counts(counter_deltas(prev, now), is_error=IS_5XX)
    assert not counts.has_data
    assert counts.error_ratio is None


def test_no_series_at_all_is_no_data():
    counts = request_counts(counter_deltas([], []), is_error=IS_5XX)
    assert not counts.has_data and counts.requests == 0


def test_reset_in_one_pod_is_handled_before_summing():
    # p1 restarted (its counter went 1000 -> 30); p2 kept counting. A sum-then-delta
    # would see 1000+500 -> 30+560 and lose everything or go negative.
    prev = [s(1000, pod="p1", code="200", instance="10.0.0.1:8080"),
            s(500, pod="p2", code="200", instance="10.0.0.2:8080")]
    now = [s(30, pod="p1", code="200", instance="10.0.0.1:8080"),
           s(560, pod="p2", code="200", instance="10.0.0.2:8080")]
    deltas = counter_deltas(prev, now)
    counts = request_counts(deltas, is_error=IS_5XX, pod_label="pod")
    assert counts.requests == 30 + 60
    assert counts.per_pod == {"p1": (30, 0), "p2": (60, 0)}
    assert counts.resets == 1


def test_reset_of_a_target_applies_to_all_its_series():
    # After the restart the 200 series already exceeds its old value (no visible drop),
    # but the 500 series dropped: the process restarted, so both count from zero.
    prev = [s(100, pod="p1", code="200", instance="i1"), s(50, pod="p1", code="500", instance="i1")]
    now = [s(120, pod="p1", code="200", instance="i1"), s(3, pod="p1", code="500", instance="i1")]
    deltas = counter_deltas(prev, now)
    assert by_code(deltas) == {("p1", "200"): 120, ("p1", "500"): 3}
    assert all(d.reset for d in deltas)


def test_reset_does_not_spread_to_other_targets():
    prev = [s(100, pod="p1", code="200"), s(100, pod="p2", code="200")]
    now = [s(5, pod="p1", code="200"), s(150, pod="p2", code="200")]
    assert by_code(counter_deltas(prev, now)) == {("p1", "200"): 5, ("p2", "200"): 50}


def test_series_without_target_labels_reset_alone():
    prev = [s(100, code="200"), s(100, code="500")]
    now = [s(5, code="200"), s(150, code="500")]
    assert by_code(counter_deltas(prev, now)) == {("", "200"): 5, ("", "500"): 50}


def test_new_pod_counts_from_zero_and_vanished_pod_adds_nothing():
    prev = [s(100, pod="old", code="200")]
    now = [s(40, pod="new", code="200")]
    counts = request_counts(counter_deltas(prev, now), is_error=IS_5XX, pod_label="pod")
    assert counts.requests == 40
    assert counts.per_pod == {"new": (40, 0)}


def test_nan_and_negative_values_are_ignored():
    prev = [s(float("nan"), pod="p1", code="200"), s(10, pod="p2", code="200")]
    now = [s(50, pod="p1", code="200"), s(-1, pod="p2", code="200")]
    assert by_code(counter_deltas(prev, now)) == {("p1", "200"): 50}


def test_deltas_telescope_over_successive_intervals():
    # Evidence of successive intervals adds up to the counter's total growth.
    values = [0, 10, 25, 3, 9, 9, 40]  # one reset between 25 and 3
    total = 0.0
    for a, b in zip(values, values[1:]):
        total += counter_deltas([s(a, pod="p", code="200")], [s(b, pod="p", code="200")])[0].value
    assert total == 25 + 40


def test_split_by_workload_and_error_codes():
    deltas = [Delta({"pod": "web-a-1", "code": "200"}, 10), Delta({"pod": "web-b-1", "code": "504"}, 3),
              Delta({"pod": "other", "code": "500"}, 99), Delta({"pod": "web-b-1", "code": "404"}, 2)]
    groups = split(deltas, lambda lb: lb["pod"][:5] if lb["pod"].startswith("web-") else None)
    assert set(groups) == {"web-a", "web-b"}
    b = request_counts(groups["web-b"], is_error=IS_5XX)
    assert (b.requests, b.errors) == (5, 3)  # 4xx is not an error


def test_series_no_pod_answered_count_in_the_totals_but_make_up_no_pod():
    deltas = [Delta({"backend_pod": "web-b-1-x", "code": "200"}, 40),
              Delta({"backend_pod": "web-b-2-y", "code": "500"}, 2),
              Delta({"backend_pod": "unknown", "code": "503", "flags": "UF"}, 7),  # Istio-style
              Delta({"backend_pod": "", "code": "503", "flags": "UF"}, 3),  # empty label
              Delta({"code": "504", "flags": "UT"}, 1)]  # no pod label at all
    c = request_counts(deltas, is_error=IS_5XX, pod_label="backend_pod")
    assert (c.requests, c.errors) == (53, 13)
    assert c.per_pod == {"web-b-1-x": (40, 0), "web-b-2-y": (2, 2)}
    assert "unknown" not in c.per_pod and "" not in c.per_pod


def test_pod_of():
    assert pod_of({"pod": "web-b-1-x"}, "pod") == "web-b-1-x"
    assert pod_of({"pod": "unknown"}, "pod") is None and pod_of({"pod": ""}, "pod") is None
    assert pod_of({"pod": "web-b-1-x"}, None) is None and pod_of({}, "pod") is None


def test_a_refused_canary_request_is_counted_against_the_canary_end_to_end():
    """Raw gateway series at two instants -> the canary's and stable's counts, as the analysis
    does it: the canary's refused requests (service set, no pod) are the canary's errors."""
    from ripcord.analysis.queries import GATEWAY, workload_of

    def g(v: float, service: str, pod: str, code: str) -> Sample:
        workload = pod.rsplit("-", 2)[0] if pod != "unknown" else "unknown"
        return Sample({"namespace": "shop", "route": "web", "backend_service": service, "backend_workload": workload,
                       "backend_pod": pod, "code": code, "job": "gateway", "instance": "gw"}, v)

    prev = [g(100, "web-a", "web-a-1-x", "200"), g(10, "web-b", "web-b-1-y", "200")]
    now = [g(190, "web-a", "web-a-1-x", "200"), g(12, "web-b", "web-b-1-y", "200"),
           g(8, "web-b", "unknown", "503")]  # appeared: the first refusal
    groups = split(counter_deltas(prev, now), workload_of(GATEWAY, ["web-b", "web-a"]))
    canary = request_counts(groups["web-b"], is_error=IS_5XX, pod_label="backend_pod")
    stable = request_counts(groups["web-a"], is_error=IS_5XX, pod_label="backend_pod")
    assert (canary.requests, canary.errors) == (10, 8) and canary.per_pod == {"web-b-1-y": (2, 0)}
    assert (stable.requests, stable.errors) == (90, 0)


def test_histograms_per_pod_skip_series_no_pod_answered():
    deltas = [Delta({"backend_pod": "p1", "le": "0.1"}, 5), Delta({"backend_pod": "p1", "le": "+Inf"}, 5),
              Delta({"backend_pod": "unknown", "le": "0.1"}, 0), Delta({"backend_pod": "unknown", "le": "+Inf"}, 4)]
    assert set(per_pod_histograms(deltas, pod_label="backend_pod")) == {"p1"}
    assert histogram(deltas).count == 9


# ------------------------------------------------------------------------- histograms

def buckets(pod: str, counts: dict[str, float], **extra: str) -> list[Sample]:
    return [s(v, pod=pod, le=le, **extra) for le, v in counts.items()]


def test_histogram_deltas_sum_by_bucket_across_pods_and_paths():
    prev = buckets("p1", {"0.1": 10, "0.5": 20, "+Inf": 20}) + buckets("p2", {"0.1": 0, "0.5": 0, "+Inf": 0})
    now = (buckets("p1", {"0.1": 15, "0.5": 30, "+Inf": 32})
           + buckets("p2", {"0.1": 5, "0.5": 5, "+Inf": 10}))
    h = histogram(counter_deltas(prev, now))
    assert h.buckets == ((0.1, 10), (0.5, 15), (math.inf, 22))
    assert h.count == 22
    assert slow_count(h, 0.5) == 7
    assert slow_count(h, 0.1) == 12


def test_histogram_unit_scaling_for_millisecond_buckets():
    now = buckets("p", {"100": 5, "500": 8, "+Inf": 10})
    h = histogram(counter_deltas([], now), scale=0.001)
    assert h.buckets == ((0.1, 5), (0.5, 8), (math.inf, 10))


def test_histogram_is_made_monotonic():
    h = histogram([Delta({"le": "0.1"}, 5), Delta({"le": "0.5"}, 3), Delta({"le": "+Inf"}, 9)])
    assert h.buckets == ((0.1, 5), (0.5, 5), (math.inf, 9))


def test_histogram_reset_in_one_pod():
    prev = buckets("p1", {"0.5": 100, "+Inf": 110}, instance="i1")
    now = buckets("p1", {"0.5": 8, "+Inf": 10}, instance="i1")
    h = histogram(counter_deltas(prev, now))
    assert h.buckets == ((0.5, 8), (math.inf, 10))


def test_count_at_most_interpolates_between_bounds():
    h = Histogram(((0.1, 10.0), (0.5, 50.0), (math.inf, 60.0)))
    assert count_at_most(h, 0.5) == (50.0, True)
    fast, exact = count_at_most(h, 0.3)
    assert not exact and fast == pytest.approx(30.0)
    assert count_at_most(h, 0.05) == (pytest.approx(5.0), False)
    # beyond the largest finite bound nothing more is known: slow is over-estimated
    assert count_at_most(h, 3.0) == (50.0, False)
    assert slow_count(h, 3.0) == 10.0


def test_quantile_like_histogram_quantile():
    h = Histogram(((0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (math.inf, 100.0)))
    assert quantile(h, 0.5) == pytest.approx(0.1)
    assert quantile(h, 0.7) == pytest.approx(0.1 + 0.4 * 20 / 40)
    assert quantile(h, 0.99) == pytest.approx(0.5 + 0.5 * 9 / 10)
    assert quantile(Histogram(((0.1, 0.0), (math.inf, 0.0))), 0.99) is None


def test_quantile_in_the_inf_bucket_is_the_largest_finite_bound():
    h = Histogram(((0.1, 1.0), (10.0, 2.0), (math.inf, 100.0)))
    assert quantile(h, 0.99) == 10.0


def test_per_pod_histograms():
    deltas = counter_deltas([], buckets("p1", {"0.5": 1, "+Inf": 4}) + buckets("p2", {"0.5": 2, "+Inf": 2}))
    hs = per_pod_histograms(deltas, pod_label="pod")
    assert {p: slow_count(h, 0.5) for p, h in hs.items()} == {"p1": 3, "p2": 0}
