"""The fuzz benchmark's pure parts: encoding deep specs, reading the API server's and the operator's answers."""
from __future__ import annotations

import json
from typing import Any

import pytest

from bench.robustness.fuzz import dumps, fingerprint, has_field_path, misowned, refusal_field, verdict


def test_dumps_encodes_what_json_dumps_cannot() -> None:
    value: Any = "leaf"
    for i in range(5000):
        value = {"k": value} if i % 2 else [value, 1]
    text = dumps({"spec": value, "u": "é😀\ud800", "n": None, "f": 1.5, "b": True})
    assert text.isascii() and text.count("[") == 2500
    shallow = {"a": [1, {"b": "c"}], "d": None, "e": "ü"}
    assert dumps(shallow) == json.dumps(shallow, separators=(",", ":"))


@pytest.mark.parametrize("message,named", [
    ("spec.analysis.interval: 0s is out of range 1s..1h", True),
    ("metadata.name: 45 characters; at most 44", True),
    ("spec.steps[0]: Input should be greater than or equal to 1", True),
    ('the pod template was refused: Deployment.apps "x" is invalid: spec.template.spec.containers[0].name: Invalid', True),
    ("notifications[hook-0]: URL http://x is not allowed by the operator's configuration", False),
    ("prometheus 'x' is not allowed", False),
])
def test_has_field_path(message: str, named: bool) -> None:
    assert has_field_path(message) is named


def test_refusal_field_reads_the_status_causes() -> None:
    body = {"kind": "Status", "code": 422, "message": 'Release.ripcord.dev "x" is invalid: spec.replicas: Invalid value',
            "details": {"causes": [{"reason": "FieldValueInvalid", "field": "spec.replicas"}]}}
    assert refusal_field(json.dumps(body).encode()) == "spec.replicas"
    assert refusal_field({"message": "metadata.name: Invalid value"}) == "metadata.name"
    assert refusal_field(b"not json") is None


def release(phase: str | None, generation: int = 1, observed: int = 1, **stalled: str) -> dict[str, Any]:
    status: dict[str, Any] = {"observedGeneration": observed}
    if phase:
        status["phase"] = phase
    if stalled:
        status["conditions"] = [{"type": "Stalled", "status": "True", **stalled}]
    return {"metadata": {"generation": generation}, "status": status}


def test_verdict() -> None:
    assert verdict(release(None)).kind == "pending"
    assert verdict(release("Stable", generation=2, observed=1)).kind == "pending"
    v = verdict(release("InvalidSpec", reason="InvalidSpec", message="spec.steps: steps must increase"))
    assert (v.kind, v.reason, v.named) == ("invalid", "InvalidSpec", True)
    assert verdict(release("Initializing")).kind == "accepted"


def test_fingerprint_ignores_what_controllers_update() -> None:
    d = {"metadata": {"name": "victim-b", "resourceVersion": "1", "annotations": {}}, "spec": {"replicas": 0},
         "status": {"observedGeneration": 1}}
    moved = {"metadata": {"name": "victim-b", "resourceVersion": "9",
                          "annotations": {"deployment.kubernetes.io/revision": "2"}},
             "spec": {"replicas": 0}, "status": {"observedGeneration": 2}}
    assert fingerprint(d) == fingerprint(moved)
    assert fingerprint(d) != fingerprint({**d, "spec": {"replicas": 1}})
    adopted = {**d, "metadata": {**d["metadata"], "ownerReferences": [{"kind": "Release", "name": "victim"}]}}
    assert fingerprint(d) != fingerprint(adopted)


def owned(kind: str, owner: str, **body: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": "x", "labels": {"ripcord.dev/release": owner},
                                       "ownerReferences": [{"kind": "Release", "name": owner, "controller": True}]},
            **body}


def test_misowned_finds_an_object_pointed_at_another_release() -> None:
    assert misowned(owned("Service", "web", spec={"selector": {"ripcord.dev/release": "web"}})) is None
    assert misowned(owned("Service", "web", spec={"selector": {"ripcord.dev/release": "web-a"}})) == \
        "selector ripcord.dev/release=web-a"
    assert misowned(owned("Deployment", "web", spec={"selector": {"matchLabels": {"ripcord.dev/release": "w"}}}))
    route = owned("HTTPRoute", "web", spec={"rules": [{"backendRefs": [{"name": "web-a"}, {"name": "other-b"}]}]})
    assert misowned(route) == "backend other-b"
    assert misowned({"kind": "Service", "metadata": {"name": "victim"}, "spec": {}}) is None
