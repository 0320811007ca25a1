"""One voice for numbers: values, bounds, breaches, outcomes and durations."""
from __future__ import annotations

import math

import pytest

from ripcord.api import wording


@pytest.mark.parametrize("value, kind, want", [
    (1.0, "error-rate", "100%"), (0.02, "error-rate", "2%"), (0.0034, "error-rate", "0.34%"),
    (0.4975, "latency", "497.5 ms"), (1.5, "latency", "1.5 s"), (0.007425, "latency", "7.425 ms"),
    (12.0, "custom", "12"), (12.0, None, "12"), (None, "latency", "-"), (math.nan, "custom", "n/a"),
])
def test_metric_value_in_its_unit(value: float, kind: str, want: str) -> None:
    assert wording.metric_value(value, kind) == want


@pytest.mark.parametrize("bound, kind, want", [
    ("<= 0.02", "error-rate", "<= 2%"),
    ("<= 0.5", "latency", "<= 500 ms"),
    ("<= 0.5s", "latency", "<= 500 ms"),
    ("<= 1.5 x stable (0.007425s)", "latency", "<= 1.5 × stable (7.425 ms)"),
    ("<= 0.05 and <= 2 x stable (0.004)", "error-rate", "<= 5% and <= 2 × stable (0.4%)"),
    ("<= 2 x stable", "error-rate", "<= 2 × stable"),
    ("ratio <= 1.1 (alpha 0.05); promote below 2 (beta 0.05), M=2", "error-rate",
     "ratio <= 1.1 (alpha 0.05); promote below 2 (beta 0.05), M=2"),
    ("<= 3", "custom", "<= 3"),
    (None, "latency", "-"),
])
def test_bound_phrase_in_the_value_unit(bound: str, kind: str, want: str) -> None:
    assert wording.bound_phrase(bound, kind) == want


def test_breach_says_which_value_is_cumulative_and_which_is_the_last_interval() -> None:
    text = wording.breach("error-rate", 0.06, "<= 0.02", "error-rate", judge="threshold",
                          last_interval="gateway metrics over 2s: canary 3/50 errors (6%)")
    assert text == ("error-rate = 6% over the step so far, breached <= 2%; "
                    "last interval: gateway metrics over 2s: canary 3/50 errors (6%)")
    assert wording.breach("error-rate", 1.0, "<= 0.02", "error-rate") == "error-rate = 100% breached <= 2%"
    assert wording.breach("latency", 0.4975, "<= 1.5 x stable (0.007425s)", "latency", judge="sequential") == \
        "latency = 497.5 ms over the rollout so far, breached <= 1.5 × stable (7.425 ms)"
    assert wording.breach("x", 3.0, None, "custom", judge="threshold") == "x = 3 over the step so far"


@pytest.mark.parametrize("outcome, want", [
    ("RolledBack", "rolled back"), ("Aborted", "aborted"), ("Promoted", "promoted"),
    ("Superseded", "superseded"), ("Progressing", "in progress"), ("SomethingNew", "something new"), (None, "-"),
])
def test_outcome_words(outcome: str, want: str) -> None:
    assert wording.outcome_words(outcome) == want


@pytest.mark.parametrize("seconds, want", [
    (0.4, "0s"), (45, "45s"), (125, "2m05s"), (3720, "1h02m"), (3 * 86400 + 4 * 3600, "3d04h"),
    (None, "-"), (-3, "0s"),
])
def test_duration_like_kubectl_ages(seconds: float, want: str) -> None:
    assert wording.duration(seconds) == want


def test_weights_and_ratios() -> None:
    assert wording.percent(5) == "5%" and wording.percent(33.333) == "33.33%" and wording.percent(None) == "-"
    assert wording.ratio_percent(0.25) == "25%"
    assert wording.at_weight(5) == " at 5% of traffic" and wording.at_weight(None) == ""
