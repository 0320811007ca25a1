"""Spec validation: bad input is rejected with a message that says what to fix."""
from __future__ import annotations

from typing import Any

import pytest

from ripcord.api.models import ReleaseSpec, parse_duration
from ripcord.api.validation import ParsedSpec, SpecProblem, parse_spec

TEMPLATE = {"spec": {"containers": [{"name": "app", "image": "ripcord/demo-app:1.0.0"}]}}


def valid(**over: Any) -> dict[str, Any]:
    return {"version": "1.0.0", "template": TEMPLATE, **over}


def rejected(body: dict[str, Any]) -> str:
    parsed = parse_spec(body)
    assert isinstance(parsed, SpecProblem), f"accepted: {body}"
    return parsed.message


def accepted(body: dict[str, Any]) -> ReleaseSpec:
    parsed = parse_spec(body)
    assert isinstance(parsed, ParsedSpec), parsed
    return parsed.spec


def test_a_minimal_spec_takes_the_defaults() -> None:
    spec = ReleaseSpec.model_validate(valid())
    assert spec.replicas == 2 and spec.traffic.provider == "replicas" and spec.deletion_policy == "Retain"
    assert spec.weights() == [5, 10, 25, 50]
    assert [m.name for m in spec.analysis.metrics] == ["error-rate", "latency"]
    assert spec.service.ports[0].port == 80


def test_steps_must_increase() -> None:
    msg = rejected(valid(steps=[10, 5, 50]))
    assert "spec.steps" in msg and "steps must increase: [10, 5, 50]" in msg


def test_steps_must_not_repeat() -> None:
    assert "steps must increase" in rejected(valid(steps=[10, 10]))


@pytest.mark.parametrize("steps,path,why", [([0, 10], "spec.steps[0]", "greater than or equal to 1"),
                                            ([10, 101], "spec.steps[1]", "less than or equal to 100")])
def test_steps_are_percentages(steps: list[int], path: str, why: str) -> None:
    msg = rejected(valid(steps=steps))
    assert msg.startswith(f"{path}: ") and why in msg


def test_neither_template_nor_workload_ref() -> None:
    msg = rejected({"version": "1.0.0"})
    assert "either template or workloadRef is required" in msg


def test_workload_ref_alone_is_enough() -> None:
    spec = ReleaseSpec.model_validate({"version": "1.0.0", "workloadRef": {"name": "legacy"}})
    assert spec.template is None and spec.workload_ref is not None


def test_gateway_api_needs_a_gateway_ref() -> None:
    msg = rejected(valid(traffic={"provider": "gateway-api"}))
    assert "spec.traffic.gatewayRef: is required with the gateway-api provider (Ripcord generates the HTTPRoute), " \
        "or give traffic.routeRef (your own HTTPRoute)" in msg


def test_unknown_provider() -> None:
    msg = rejected(valid(traffic={"provider": "istio-ish"}))
    assert "spec.traffic.provider" in msg and "'replicas', 'gateway-api' or 'istio'" in msg


@pytest.mark.parametrize("field,value", [("interval", "10"), ("stepDuration", "5 minutes"),
                                         ("postPromotionWatch", "-1s"), ("maxDuration", "1d")])
def test_bad_durations_name_the_field(field: str, value: str) -> None:
    msg = rejected(valid(analysis={field: value}))
    assert f"spec.analysis.{field}" in msg and "pattern" in msg


def test_bad_duration_in_pod_health() -> None:
    assert "spec.analysis.podHealth.readyDeadline" in rejected(valid(analysis={"podHealth": {"readyDeadline": "soon"}}))


def test_steps_and_step_weight_together() -> None:
    assert "spec.steps: give steps or stepWeight/maxWeight, not both" in rejected(valid(steps=[10], stepWeight=10))


def test_replicas_at_least_one() -> None:
    msg = rejected(valid(replicas=0))
    assert "spec.replicas" in msg and "greater than or equal to 1" in msg


def test_version_is_required_and_not_empty() -> None:
    assert "spec.version" in rejected({"template": TEMPLATE})
    assert "spec.version" in rejected(valid(version=""))


def test_unknown_fields_are_rejected() -> None:
    msg = rejected(valid(replica=3))
    assert "spec.replica: unknown field" in msg


def test_metric_names_are_unique() -> None:
    msg = rejected(valid(analysis={"metrics": [{"name": "errors"}, {"name": "errors"}]}))
    assert "metric names must be unique" in msg


def test_metric_names_are_dns_labels() -> None:
    assert "spec.analysis.metrics[0].name" in rejected(valid(analysis={"metrics": [{"name": "Error Rate"}]}))


def test_judge_bounds() -> None:
    assert "spec.analysis.judge.alpha" in rejected(valid(analysis={"judge": {"alpha": 0.7}}))


def test_durations_parse() -> None:
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1m30s") == 90
    assert parse_duration("250ms") == 0.25
    assert parse_duration("0s") == 0
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("90")


def test_weights_from_step_weight_and_max_weight() -> None:
    assert ReleaseSpec.model_validate(valid(stepWeight=20, maxWeight=60)).weights() == [20, 40, 60]
    assert ReleaseSpec.model_validate(valid(stepWeight=10)).weights() == [10, 20, 30, 40, 50]


def test_a_100_percent_step_is_the_promotion_not_a_step() -> None:
    assert ReleaseSpec.model_validate(valid(steps=[10, 50, 100])).weights() == [10, 50]


def test_the_message_lists_several_problems() -> None:
    msg = rejected(valid(replicas=0, steps=[5, 1]))
    assert "spec.replicas" in msg and "spec.steps" in msg


@pytest.mark.parametrize("spec,field", [
    ({"steps": [{"a": 1}, 20]}, "spec.steps[0]"),
    ({"disruptionBudgets": {"stable": {"maxUnavailable": {"x": 1}}}}, "spec.disruptionBudgets.stable.maxUnavailable"),
    ({"traffic": {"provider": "gateway-api", "routeRef": {"name": "r", "rule": [1]}}}, "spec.traffic.routeRef.rule"),
])
def test_an_integer_or_string_field_given_something_else_names_the_field_once(spec: dict[str, Any], field: str) -> None:
    """These fields are not typed by the schema (docs/design.md): the operator's message is the one users see."""
    msg = rejected(valid(**spec))
    assert msg.startswith(f"{field}: Input should be a whole number or a string, not "), msg
    assert ".int" not in msg and ".str" not in msg
