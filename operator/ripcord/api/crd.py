"""Generate the Release CRD from the pydantic models.

Pydantic's JSON Schema uses ``$ref``/``$defs`` and ``anyOf [X, null]`` for optional
fields; a Kubernetes structural schema needs every node inlined and typed. This module
turns one into the other, adds the status default that makes GitOps tools wait
(``observedGeneration: -1``), and the printer columns. ``python -m ripcord.api.crd``
prints the YAML that is committed as ``crds/release.yaml``.
"""
from __future__ import annotations

import copy
import sys
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from ripcord.api.models import GROUP, KIND, PLURAL, RELEASE_NAME_MAX, RELEASE_NAME_PATTERN, VERSION, ReleaseSpec, \
    ReleaseStatus
from ripcord.labels import standard

_KEEP = {"type", "properties", "items", "required", "enum", "default", "description", "minimum",
         "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
         "minItems", "maxItems", "format", "x-kubernetes-preserve-unknown-fields", "nullable",
         "x-kubernetes-int-or-string"}

# The default columns tell the story in an 80-column terminal: what serves, what is happening,
# how the last rollout ended and why; the rest is under -o wide.
PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Stable", "type": "string", "jsonPath": ".status.stable.version", "description": "version serving as stable"},
    {"name": "Now", "type": "string", "jsonPath": ".status.activity",
     "description": "what is happening (the canary and its weight while there is one; empty at rest)"},
    {"name": "Last", "type": "string", "jsonPath": ".status.last",
     "description": "how the last rollout ended, and why"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Desired", "type": "string", "jsonPath": ".spec.version", "priority": 1, "description": "version asked for"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
    {"name": "Weight", "type": "integer", "jsonPath": ".status.canaryWeight", "priority": 1,
     "description": "canary weight asked, percent (only while there is a canary)"},
    {"name": "Effective", "type": "number", "jsonPath": ".status.effectiveWeight", "priority": 1,
     "description": "canary share the data plane serves"},
    {"name": "Verdict", "type": "string", "jsonPath": ".status.analysis.verdict", "priority": 1},
    {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
]


def _mixed(node: dict[str, Any]) -> dict[str, Any]:
    """A field that is an integer or a string (a step weight or pause, a rule index or name, a budget).

    Not ``x-kubernetes-int-or-string``: with one such node anywhere in its schema, the API server
    validates a whole Release with the generic OpenAPI validator, whose cost grows with the depth
    of the object. Measured on the sandbox (1.20): a Release with a pod template nested 1,200
    levels deep took 34 s of API server time to create, against 0.4 s without. So the node keeps
    any value and the operator validates it (``InvalidSpec`` naming the field, as for every rule
    the schema cannot state).
    """
    return {"x-kubernetes-preserve-unknown-fields": True,
            **({"description": node["description"]} if "description" in node else {})}


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_structural(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].split("/")[-1]]
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, defs)
    if node.get("x-kubernetes-int-or-string"):
        return _mixed(node)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if len(options) == 1:
            return _structural({**options[0], **rest}, defs)
        if sorted(o.get("type", "") for o in options) == ["integer", "string"]:  # an IntOrString
            return _mixed(rest)
        raise ValueError(f"cannot make a structural schema of anyOf {node['anyOf']}")
    if "const" in node:
        node = {**{k: v for k, v in node.items() if k != "const"}, "enum": [node["const"]]}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _structural(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = _structural(value, defs)
        elif key == "additionalProperties":
            if isinstance(value, dict) and value:
                out[key] = _structural(value, defs)
        elif key in _KEEP:
            out[key] = value
    if out.get("default") in (None, ""):
        out.pop("default", None)  # the 1.20 API server reads an empty-string default as null
    if out.get("x-kubernetes-preserve-unknown-fields"):
        out = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
               **({"description": out["description"]} if "description" in out else {})}
    elif "type" not in out and "properties" in out:
        out["type"] = "object"
    elif "type" not in out and "additionalProperties" in node:
        out["type"] = "object"
    if out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out \
            and not out.get("x-kubernetes-preserve-unknown-fields"):
        out["x-kubernetes-preserve-unknown-fields"] = True
    if "exclusiveMinimum" in out and not isinstance(out["exclusiveMinimum"], bool):
        out["minimum"], out["exclusiveMinimum"] = out["exclusiveMinimum"], True
    if "exclusiveMaximum" in out and not isinstance(out["exclusiveMaximum"], bool):
        out["maximum"], out["exclusiveMaximum"] = out["exclusiveMaximum"], True
    return out


def model_schema(model: type[BaseModel], mode: JsonSchemaMode = "validation") -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode=mode)
    defs = raw.pop("$defs", {})
    schema: dict[str, Any] = _structural(raw, defs)
    return schema


def _conditions_as_map(status: dict[str, Any]) -> None:
    cond = status["properties"]["conditions"]
    cond["x-kubernetes-list-type"] = "map"
    cond["x-kubernetes-list-map-keys"] = ["type"]
    cond["items"]["required"] = ["type", "status", "reason", "lastTransitionTime"]


def crd() -> dict[str, Any]:
    spec = model_schema(ReleaseSpec)
    status = model_schema(ReleaseStatus, mode="serialization")
    status.pop("required", None)
    _conditions_as_map(status)
    status["default"] = {"observedGeneration": -1}
    schema = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object", "properties": {"name": {
                "type": "string", "maxLength": RELEASE_NAME_MAX, "pattern": RELEASE_NAME_PATTERN,
                "description": f"a DNS-1035 label of at most {RELEASE_NAME_MAX} characters, so every name derived "
                               "from it is valid and whole (ripcord.api.models.RELEASE_NAME_MAX)"}}},
            "spec": spec,
            "status": status,
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}", "labels": standard("crd")},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": KIND, "listKind": f"{KIND}List", "plural": PLURAL, "singular": "release",
                      "shortNames": ["rel"], "categories": ["all", "ripcord"]},
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": PRINTER_COLUMNS,
                "schema": {"openAPIV3Schema": schema},
            }],
        },
    }


def render() -> str:
    header = "# Generated by `python -m ripcord.api.crd` from ripcord/api/models.py. Do not edit.\n"
    body: str = yaml.safe_dump(crd(), sort_keys=False, width=100)
    return header + body


if __name__ == "__main__":
    sys.stdout.write(render())
