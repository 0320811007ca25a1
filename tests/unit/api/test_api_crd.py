"""The Release CRD is generated from the pydantic models and is a valid structural schema."""
from __future__ import annotations

import json

import pathlib
import typing
from typing import Any, Iterator

import pytest
import yaml
from pydantic import BaseModel

from ripcord.api import crd
from ripcord.api.models import ReleaseSpec, ReleaseStatus

ROOT = pathlib.Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "crds" / "release.yaml"
REGENERATE = "regenerate it with `python -m ripcord.api.crd > crds/release.yaml`"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    [version] = crd.crd()["spec"]["versions"]
    return version["schema"]["openAPIV3Schema"]


def nodes(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path."""
    if not isinstance(node, dict):
        return
    yield path, node
    for name, sub in (node.get("properties") or {}).items():
        yield from nodes(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from nodes(node["additionalProperties"], f"{path}{{}}")


def test_committed_crd_is_the_generated_one() -> None:
    assert COMMITTED.read_text() == crd.render(), f"crds/release.yaml is stale: {REGENERATE}"


def test_committed_crd_parses_as_the_same_object() -> None:
    assert yaml.safe_load(COMMITTED.read_text()) == crd.crd()


def test_names_scope_subresource_and_printer_columns() -> None:
    body = crd.crd()
    spec = body["spec"]
    assert body["apiVersion"] == "apiextensions.k8s.io/v1" and body["metadata"]["name"] == "releases.ripcord.dev"
    assert spec["group"] == "ripcord.dev" and spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "Release" and spec["names"]["plural"] == "releases"
    assert spec["names"]["shortNames"] == ["rel"] and "ripcord" in spec["names"]["categories"]
    [version] = spec["versions"]
    assert version["name"] == "v1alpha1" and version["served"] and version["storage"]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert [n for n, c in columns.items() if not c.get("priority")] == ["Stable", "Now", "Last", "Age"]
    assert {"Desired", "Phase", "Weight", "Effective", "Verdict", "Message"} <= {
        n for n, c in columns.items() if c.get("priority") == 1}


def test_printer_columns_point_at_declared_fields(schema: dict[str, Any]) -> None:
    declared = {path for path, _ in nodes(schema)}
    [version] = crd.crd()["spec"]["versions"]
    for column in version["additionalPrinterColumns"]:
        path = column["jsonPath"]
        if path.startswith(".metadata."):
            continue
        assert path in declared, f"printer column {column['name']} reads {path}, which the schema prunes"


INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def test_schema_is_structural(schema: dict[str, Any]) -> None:
    for path, node in nodes(schema):
        if node.get("x-kubernetes-int-or-string"):
            # Kubernetes' one exception: no type, and anyOf exactly integer|string (value checks outside it)
            assert "type" not in node and node.get("anyOf") == INT_OR_STRING, path
            node = {k: v for k, v in node.items() if k != "anyOf"}
        else:
            assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), f"{path or '/'} has no type"
        for banned in ("$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "const", "title"):
            assert banned not in node, f"{path}: {banned} is not allowed in a structural schema"
        if node.get("type") == "array":
            assert isinstance(node.get("items"), dict), f"{path}: an array needs items"
        if node.get("type") == "object" and not node.get("x-kubernetes-preserve-unknown-fields") \
                and path != ".metadata":  # the API server validates metadata itself
            assert "properties" in node or "additionalProperties" in node, f"{path}: an object with no fields"
        for key in ("required",):
            if key in node:
                assert set(node[key]) <= set(node.get("properties") or {}), f"{path}: requires undeclared fields"


def test_preserved_subtrees_are_small(schema: dict[str, Any]) -> None:
    preserved = sorted(path for path, node in nodes(schema) if node.get("x-kubernetes-preserve-unknown-fields"))
    mixed = {".spec.traffic.routeRef.rule", ".spec.steps[]"} | {
        f".spec.disruptionBudgets.{role}.{bound}" for role in ("stable", "canary")
        for bound in ("minAvailable", "maxUnavailable")}
    # The HPA's own fields, passed to it as written; the template, typed by the operator; and the
    # integer-or-string fields (test_mixed_fields_are_left_to_the_operator).
    assert set(preserved) == {".spec.autoscaling.behavior", ".spec.autoscaling.metrics[]", ".spec.template"} | mixed


def test_conditions_are_a_map_keyed_by_type(schema: dict[str, Any]) -> None:
    conditions = schema["properties"]["status"]["properties"]["conditions"]
    assert conditions["type"] == "array"
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert {"type", "status", "reason", "lastTransitionTime"} <= set(item["required"])
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]
    assert "default" not in item["properties"]["type"], "a list-map key must not have a default"


def test_status_defaults_observed_generation_to_minus_one(schema: dict[str, Any]) -> None:
    status = schema["properties"]["status"]
    assert status["default"] == {"observedGeneration": -1}
    assert status["properties"]["observedGeneration"]["type"] == "integer"
    assert ReleaseStatus().observed_generation == -1


def test_spec_is_required_and_its_required_fields_are_declared(schema: dict[str, Any]) -> None:
    assert schema["required"] == ["spec"]
    assert schema["properties"]["spec"]["required"] == ["version"]


def test_no_empty_string_defaults(schema: dict[str, Any]) -> None:
    """The 1.20 API server reads an empty-string default as null and rejects it."""
    assert [path for path, node in nodes(schema) if node.get("default") == ""] == []


def test_every_status_field_the_operator_writes_is_declared(schema: dict[str, Any]) -> None:
    declared = {path for path, _ in nodes(schema)}
    for path in model_paths(ReleaseStatus, ".status"):
        assert path in declared, f"{path} would be pruned by the API server"


def model_paths(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        alias = field.alias or name
        path = f"{prefix}.{alias}"
        yield path
        sub = _model_of(field.annotation)
        if sub is not None:
            inner = f"{path}[]" if _is_list(field.annotation) else path
            yield from model_paths(sub, inner)


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_list(tp: Any) -> bool:
    if typing.get_origin(tp) is list:
        return True
    return any(_is_list(a) for a in _args(tp) if a is not type(None))


def _model_of(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for a in _args(tp):
        found = _model_of(a)
        if found is not None:
            return found
    return None


def scalar_defaults(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, Any]]:
    """(schema path, default) of every scalar field with a default, nested models included."""
    for name, field in model.model_fields.items():
        alias = field.alias or name
        path = f"{prefix}.{alias}"
        if isinstance(field.default, (str, int, float, bool)) and not isinstance(field.default, type):
            yield path, field.default
        sub = _model_of(field.annotation)
        if sub is not None:
            yield from scalar_defaults(sub, f"{path}[]" if _is_list(field.annotation) else path)


@pytest.mark.parametrize("model,prefix", [(ReleaseSpec, ".spec"), (ReleaseStatus, ".status")])
def test_schema_defaults_agree_with_the_models(schema: dict[str, Any], model: type[BaseModel], prefix: str) -> None:
    by_path = dict(nodes(schema))
    checked = 0
    for path, default in scalar_defaults(model, prefix):
        node = by_path[path]
        if default == "":
            assert "default" not in node, path
            continue
        assert node.get("default") == default, f"{path}: schema default {node.get('default')!r}, model {default!r}"
        checked += 1
    assert checked >= 10


def test_schema_enums_agree_with_the_models(schema: dict[str, Any]) -> None:
    spec = schema["properties"]["spec"]["properties"]
    assert spec["traffic"]["properties"]["provider"]["enum"] == ["replicas", "gateway-api", "istio"]
    assert spec["deletionPolicy"]["enum"] == ["Retain", "Delete"]
    rollout = schema["properties"]["status"]["properties"]["rollout"]["properties"]
    assert rollout["state"]["enum"] == ["Progressing", "Promoting", "Watching", "RollingBack"]


def test_mixed_fields_are_left_to_the_operator(schema: dict[str, Any]) -> None:
    """Integer-or-string fields are not x-kubernetes-int-or-string: one such node makes the API server
    validate a whole Release with a validator whose cost grows with its depth (a 1,200-level template:
    34 s to create, against 0.4 s). They keep any value; the operator refuses a bad one by field."""
    spec = schema["properties"]["spec"]["properties"]
    rule = spec["traffic"]["properties"]["routeRef"]["properties"]["rule"]
    assert rule["x-kubernetes-preserve-unknown-fields"] is True and "anyOf" not in rule
    budget = spec["disruptionBudgets"]["properties"]["stable"]["properties"]
    assert budget["maxUnavailable"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert spec["steps"]["items"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert spec["steps"]["maxItems"] == 50
    assert spec["autoscaling"]["required"] == ["minReplicas", "maxReplicas"]
    assert "x-kubernetes-int-or-string" not in json.dumps(schema)


def test_schema_validates_ranges_and_durations(schema: dict[str, Any]) -> None:
    spec = schema["properties"]["spec"]["properties"]
    assert (spec["replicas"]["minimum"], spec["replicas"]["maximum"]) == (1, 1000)
    assert spec["analysis"]["properties"]["interval"]["pattern"].startswith("^")
    alpha = spec["analysis"]["properties"]["judge"]["properties"]["alpha"]
    assert alpha["exclusiveMinimum"] is True and alpha["minimum"] == 0


def test_every_spec_and_status_string_and_list_is_bounded(schema: dict[str, Any]) -> None:
    """A 40 kB string or a 100,000-item list is refused at apply, not carried into status and Events."""
    for path, node in nodes(schema):
        if not path.startswith((".spec", ".status")) or path == ".status.analysis.judgeState":
            continue
        if node.get("type") == "string" and not path.startswith(".status.acknowledged."):
            # acknowledged: the request annotations verbatim (the API bounds annotations to 256 kB in all)
            assert "maxLength" in node or "enum" in node, f"{path}: a string without maxLength"
        if node.get("type") == "array":
            assert "maxItems" in node or path in UNBOUNDED_LISTS, f"{path}: a list without maxItems"


UNBOUNDED_LISTS: set[str] = set()


def test_the_release_name_is_bounded_by_its_derived_names(schema: dict[str, Any]) -> None:
    from ripcord.api.models import RELEASE_NAME_MAX
    name = schema["properties"]["metadata"]["properties"]["name"]
    assert name["maxLength"] == RELEASE_NAME_MAX == 44
    assert name["pattern"] == "^[a-z]([-a-z0-9]*[a-z0-9])?$"


def test_status_enums_are_documented_but_any_value_parses(schema: dict[str, Any]) -> None:
    history = schema["properties"]["status"]["properties"]["history"]["items"]["properties"]
    assert history["outcome"]["enum"] == ["Installed", "Progressing", "Promoted", "RolledBack", "Superseded", "Aborted",
                                          "Failed", "Drilled"]
    assert ReleaseStatus.model_validate({"history": [{"id": 1, "version": "1", "templateHash": "h",
                                                      "outcome": "Quarantined", "startedAt": "t"}]})
