"""Odd specs become a SpecProblem naming the field, never an exception (issue 11, items 2, 5 and 9).

Each case here was reproduced against the code before this change: it crashed the
reconcile every tick, was refused by the API server at apply every tick, or was silently
read as something else.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ripcord.api import limits
from ripcord.api.limits import TOO_DEEP
from ripcord.api.models import RELEASE_NAME_MAX, ReleaseSpec, parse_duration
from ripcord.api.validation import MAX_SPEC_DEPTH, ParsedSpec, SpecProblem, parse_spec

CONTAINER = {"name": "app", "image": "ripcord/demo-app:1.0.0"}


def valid(**over: Any) -> dict[str, Any]:
    return {"version": "1.0.0", "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [CONTAINER]}},
            **over}


def problem(raw: Any, name: str | None = None) -> SpecProblem:
    parsed = parse_spec(raw, name)
    assert isinstance(parsed, SpecProblem), f"accepted: {raw}"
    assert len(parsed.message) <= limits.SPEC_PROBLEM_MAX
    return parsed


def accepted(raw: Any, name: str | None = None) -> ReleaseSpec:
    parsed = parse_spec(raw, name)
    assert isinstance(parsed, ParsedSpec), parsed
    return parsed.spec


def with_template(**template: Any) -> dict[str, Any]:
    return valid(template=template)


# ------------------------------------------------------------- the pod template, typed

@pytest.mark.parametrize("template,path", [
    ({"spec": {"containers": [CONTAINER], "volumes": ["junk"]}}, "spec.template.spec.volumes[0]"),
    ({"metadata": "web", "spec": {"containers": [CONTAINER]}}, "spec.template.metadata"),
    ({"metadata": {"labels": ["app", "web"]}, "spec": {"containers": [CONTAINER]}}, "spec.template.metadata.labels"),
    ({"metadata": {"labels": {"app": 7}}, "spec": {"containers": [CONTAINER]}}, "spec.template.metadata.labels.app"),
    ({"metadata": {"annotations": {"a": None}}, "spec": {"containers": [CONTAINER]}},
     "spec.template.metadata.annotations.a"),
    ({"spec": "pods"}, "spec.template.spec"),
    ({"spec": {"containers": "app"}}, "spec.template.spec.containers"),
    ({"spec": {"containers": [{"name": "app", "env": {"A": "1"}}]}}, "spec.template.spec.containers[0].env"),
    ({"spec": {"containers": [{"name": "app", "env": [{"name": "A", "valueFrom": []}]}]}},
     "spec.template.spec.containers[0].env[0].valueFrom"),
    ({"spec": {"containers": [{"name": "app", "envFrom": [{"secretRef": "s"}]}]}},
     "spec.template.spec.containers[0].envFrom[0].secretRef"),
    ({"spec": {"containers": [CONTAINER], "initContainers": [{"image": "x"}]}},
     "spec.template.spec.initContainers[0].name"),
    ({"spec": {"containers": [CONTAINER], "volumes": [{"name": "v", "projected": {"sources": [{"configMap": 1}]}}]}},
     "spec.template.spec.volumes[0].projected.sources[0].configMap"),
    ({"spec": {"containers": [CONTAINER], "volumes": [{"name": "v", "secret": {"secretName": ["s"]}}]}},
     "spec.template.spec.volumes[0].secret.secretName"),
])
def test_a_template_of_the_wrong_shape_names_the_field(template: dict[str, Any], path: str) -> None:
    """template.spec.volumes: ["junk"] and friends were stored, then raised 57 tracebacks in 20 s."""
    assert problem(with_template(**template)).path == path


@pytest.mark.parametrize("container,path", [
    (dict(CONTAINER, ports={"http": 8080}), "spec.template.spec.containers[0].ports"),
    (dict(CONTAINER, imagePullPolcy="Always"), "spec.template.spec.containers[0].imagePullPolcy"),
])
def test_template_fields_that_no_pod_has_are_named(container: dict[str, Any], path: str) -> None:
    """A misspelt field or a wrong shape is named, whatever the API server would have silently dropped."""
    p = problem(with_template(spec={"containers": [container]}))
    assert p.path == path


@pytest.mark.parametrize("limits", [{"cpu": 1}, {"cpu": 0.5, "memory": 1073741824}, {"cpu": "500m"}])
def test_numbers_where_kubernetes_takes_quantities_are_valid(limits: dict[str, Any]) -> None:
    """``cpu: 1`` is valid Kubernetes; the client's models want a string, the API server does not."""
    accepted(with_template(spec={"containers": [dict(CONTAINER, resources={"limits": limits})]}))


def test_template_values_only_the_api_server_judges_are_left_to_its_dry_run() -> None:
    spec = accepted(with_template(metadata={"labels": {"app": "not a label value!"}},
                                  spec={"containers": [dict(CONTAINER, name="Not_A_DNS_Label")],
                                        "restartPolicy": "Sometimes"}))
    assert spec.template is not None and spec.template["spec"]["restartPolicy"] == "Sometimes"


# ------------------------------------------------------------- depth and the decoder's marker

def test_a_subtree_the_decoder_cut_is_named() -> None:
    raw = valid()
    raw["template"]["spec"]["deep"] = {"k": {"k": TOO_DEEP}}
    p = problem(raw)
    assert p.path == "spec.template.spec.deep.k.k" and "nested deeper than" in p.message


def test_a_spec_deeper_than_python_can_recurse_is_a_problem_not_a_recursion_error() -> None:
    deep: Any = 1
    for _ in range(50_000):
        deep = {"k": deep}
    raw = valid()
    raw["template"]["spec"]["deep"] = deep
    p = problem(raw)
    assert p.path.startswith("spec.template.spec.deep.k.k") and "more levels" in p.path
    assert f"nested deeper than {MAX_SPEC_DEPTH} levels" in p.message


@pytest.mark.parametrize("raw,why", [(None, "is missing"), ("web", "must be an object, not a string"),
                                     ([1], "must be an object, not a list"), (3, "must be an object, not a number")])
def test_a_spec_that_is_not_an_object(raw: Any, why: str) -> None:
    assert problem(raw).message == f"spec: {why}"


# ------------------------------------------------------------- bounded messages

def test_a_40_kb_prometheus_address_is_refused_with_a_bounded_message() -> None:
    """It used to make the condition message exceed the API's 32,768 characters: no status at all."""
    p = problem(valid(analysis={"prometheus": {"address": "http://" + "p" * 40_000}}))
    assert p.path == "spec.analysis.prometheus.address" and "at most 2048 characters" in p.message
    assert len(p.message) < 200


def test_many_problems_make_one_bounded_message() -> None:
    raw = valid(analysis={"metrics": [{"name": f"M{i}" * 300} for i in range(16)]})
    p = problem(raw)
    assert len(p.problems) >= 16 and p.message.endswith(f"and {len(p.problems) - 5} more")


def test_every_message_names_a_path_under_spec_or_metadata() -> None:
    p = problem(valid(replicas=0, steps=[5, 1], extra=1), name="Web")
    assert [path for path, _ in p.problems] == ["metadata.name", "spec.replicas", "spec.steps", "spec.extra"]


# ------------------------------------------------------------- durations

def test_a_duration_that_overflowed_at_promotion_is_refused() -> None:
    """postPromotionWatch: 100000000h raised OverflowError when the watch's end was computed."""
    p = problem(valid(analysis={"postPromotionWatch": "100000000h"}))
    assert p.path == "spec.analysis.postPromotionWatch"


@pytest.mark.parametrize("field,value,bounds", [
    ("postPromotionWatch", "25h", "0s..24h"), ("maxDuration", "169h", "1s..168h"), ("interval", "0s", "1s..1h"),
    ("interval", "500ms", "1s..1h"), ("stepDuration", "999999h", "0s..24h"),
    ("metricsUnavailableLimit", "24h1ms", "0s..24h")])
def test_durations_out_of_range_name_the_range(field: str, value: str, bounds: str) -> None:
    p = problem(valid(analysis={field: value}))
    assert p.path == f"spec.analysis.{field}" and f"{value} is out of range {bounds}" in p.message


def test_the_longest_duration_the_pattern_allows_cannot_overflow_a_datetime() -> None:
    longest = parse_duration("999999.999999h" * 4)
    assert dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=longest) < dt.datetime.max.replace(
        tzinfo=dt.timezone.utc)


# ------------------------------------------------------------- the Release's name

@pytest.mark.parametrize("name,why", [("a" * (RELEASE_NAME_MAX + 1), f"at most {RELEASE_NAME_MAX}"),
                                      ("web.v2", "DNS-1035"), ("2web", "DNS-1035"), ("Web", "DNS-1035"),
                                      ("web-", "DNS-1035")])
def test_a_release_name_its_derived_names_cannot_carry(name: str, why: str) -> None:
    """Too long or dotted names passed, said Installed, then failed with 422 every tick."""
    p = problem(valid(), name=name)
    assert p.path == "metadata.name" and why in p.message


def test_the_longest_name_makes_whole_pod_names() -> None:
    name = "w" * RELEASE_NAME_MAX
    accepted(valid(), name=name)
    pod_prefix = f"{name}-a-{'h' * 10}-"  # the ReplicaSet controller's generateName for a canary pod
    assert len(pod_prefix) == 58, "the API server keeps 58 characters of a generateName"


# ------------------------------------------------------------- silent reinterpretations (item 9)

def test_steps_of_only_100_are_an_error_not_50() -> None:
    p = problem(valid(steps=[100]))
    assert p.path == "spec.steps" and "100 is the promotion" in p.message


def test_a_last_step_of_100_means_the_promotion() -> None:
    assert accepted(valid(steps=[10, 50, 100])).weights() == [10, 50]


def test_a_step_weight_above_the_max_weight_is_an_error_not_50() -> None:
    p = problem(valid(stepWeight=60))
    assert p.path == "spec.stepWeight" and "above maxWeight (default 50)" in p.message
    assert problem(valid(stepWeight=30, maxWeight=20)).path == "spec.stepWeight"


def test_max_weight_without_step_weight_is_an_error_not_ignored() -> None:
    p = problem(valid(maxWeight=30))
    assert p.path == "spec.maxWeight" and "needs stepWeight" in p.message


def test_max_weight_is_always_the_last_step() -> None:
    assert accepted(valid(stepWeight=20)).weights() == [20, 40, 50]
    assert accepted(valid(stepWeight=20, maxWeight=70)).weights() == [20, 40, 60, 70]
    assert accepted(valid(stepWeight=25, maxWeight=100)).weights() == [25, 50, 75]
    assert accepted(valid(stepWeight=50)).weights() == [50]


def test_no_events_is_an_error_not_the_defaults() -> None:
    p = problem(valid(notifications=[{"name": "team", "url": "https://hooks.example.com/x", "events": []}]))
    assert p.path == "spec.notifications[0].events" and "at least 1 item" in p.message


def test_judge_settings_with_r0_not_below_r1_are_an_error_not_fixed_bounds() -> None:
    p = problem(valid(analysis={"judge": {"r0": 2.0, "r1": 1.5}}))
    assert p.path == "spec.analysis.judge.r0" and "must be below r1 (r0 = 2, r1 = 1.5)" in p.message
    assert problem(valid(analysis={"judge": {"r0": 1.0, "r1": 1.2}})).path == "spec.analysis.judge.r1"


def test_judge_settings_accepted_here_are_accepted_by_the_sequential_judge() -> None:
    from ripcord.analysis.judge.settings import SequentialSettings
    spec = accepted(valid(analysis={"judge": {"r0": 4.99, "r1": 5.0}}))
    SequentialSettings.from_mapping(spec.analysis.judge.wire())
    spec = accepted(valid(analysis={"judge": {"r0": 1.0, "r1": 1.21}}))
    SequentialSettings.from_mapping(spec.analysis.judge.wire())


@pytest.mark.parametrize("name", ["", "Legacy", "a/b", "x" * 254])
def test_a_workload_ref_name_that_cannot_name_a_deployment(name: str) -> None:
    """workloadRef.name: "" made the observer GET the Deployment list URL every tick."""
    assert problem({"version": "1", "workloadRef": {"name": name}}).path == "spec.workloadRef.name"


@pytest.mark.parametrize("ports,why", [
    ([{"name": "http-metrics-port"}], "at most 15 characters"),
    ([{"name": "HTTP"}], "should match pattern"),
    ([{"name": "8080"}], "needs a letter"),
    ([{"name": "a--b"}], "no '--'"),
    ([{"name": "http", "port": 80}, {"name": "http", "port": 81}], "port names must be unique"),
    ([{"name": "a", "port": 80}, {"name": "b", "port": 80}], "ports must be unique"),
])
def test_service_ports_the_api_server_would_refuse_every_tick(ports: list[dict[str, Any]], why: str) -> None:
    assert why in problem(valid(service={"ports": ports})).message


@pytest.mark.parametrize("traffic,path", [
    ({"provider": "replicas", "gatewayRef": {"name": "gw"}}, "spec.traffic.gatewayRef"),
    ({"provider": "replicas", "hostnames": ["web.example.com"]}, "spec.traffic.hostnames"),
    ({"provider": "replicas", "canaryReplicas": 3}, "spec.traffic.canaryReplicas"),
    ({"provider": "gateway-api", "gatewayRef": {"name": "gw"}, "hostnames": ["Web!"]}, "spec.traffic.hostnames[0]"),
    ({"provider": "gateway-api", "gatewayRef": {"name": ""}}, "spec.traffic.gatewayRef.name"),
])
def test_provider_fields_a_provider_would_ignore_or_the_api_server_refuse(traffic: dict[str, Any], path: str) -> None:
    assert problem(valid(traffic=traffic)).path == path


@pytest.mark.parametrize("metric,path,why", [
    ({"name": "c", "type": "custom", "max": 1}, "spec.analysis.metrics[0].query", "required for a custom metric"),
    ({"name": "c", "type": "custom", "query": "up"}, "spec.analysis.metrics[0].max", "needs max or maxRatio"),
    ({"name": "e", "type": "error-rate", "query": "up"}, "spec.analysis.metrics[0].query", "custom metrics only"),
    ({"name": "t", "judge": "threshold"}, "spec.analysis.metrics[0].max", "needs max or maxRatio"),
    ({"name": "p", "metricPrefix": "my app"}, "spec.analysis.metrics[0].metricPrefix", "pattern"),
])
def test_metric_settings_that_were_ignored_or_never_passed(metric: dict[str, Any], path: str, why: str) -> None:
    p = problem(valid(analysis={"metrics": [metric]}))
    assert p.path == path and why in p.message


def test_duplicate_notification_names_and_events() -> None:
    hook = {"name": "team", "url": "https://hooks.example.com/x"}
    assert "notification names must be unique" in problem(valid(notifications=[hook, hook])).message
    assert "events must not repeat" in problem(valid(notifications=[dict(hook, events=["rollback"] * 2)])).message


def test_an_accepted_spec_round_trips_through_its_wire_form() -> None:
    spec = accepted(valid(stepWeight=20, analysis={"metrics": [
        {"name": "c", "type": "custom", "query": "up", "max": 1, "judge": "threshold"}]},
        notifications=[{"name": "team", "url": "https://hooks.example.com/x"}]))
    assert accepted(spec.wire()) == spec


def test_a_huge_list_is_refused_before_any_item_is_validated() -> None:
    p = problem(valid(service={"ports": [{"name": f"p{i}", "port": 1 + i % 65535} for i in range(20_000)]}))
    assert p.message == "spec.service.ports: has 20000 items; at most 1000"
