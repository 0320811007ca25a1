"""Seeded fuzzed Release specs: wrong types, huge and deep values, unicode, nulls, unknown
fields, bad durations, name collisions, and odd-but-valid shapes.

Pure: ``fuzz_cases(seed, count)`` gives the same cases for the same seed, each drawn from
its own ``random.Random(f"{seed}:{index}")`` so one case can be replayed alone. Each case
says what the operator's own validation (:func:`ripcord.api.validation.parse_spec`) must
make of it: ``valid``, ``invalid`` or ``either`` (no promise, e.g. a null the API server
prunes, or a pod template field only the API server's dry run judges). The unit tests
hold the validation to those promises; ``make bench-robustness`` applies the same cases
through the real API server (``bench.robustness.fuzz``).

Valid specs are cheap on the sandbox: at most 3 replicas, and images the kubelet stand-in
does not run (their pods stay ``ErrImagePull``; no process starts).
"""
from __future__ import annotations

import copy
import dataclasses
import random
import string
from typing import Any, Callable, Literal, Sequence

Expect = Literal["valid", "invalid", "either"]
Path = tuple[Any, ...]

IMAGE = "fuzz.invalid/app:1"
HOOK_URL = "http://127.0.0.1:9/hooks/fuzz"  # allowed by the bench's operator configuration; nothing listens
BYSTANDER = "victim"
"""A name whose derived objects exist before the fuzz and belong to no Release (see fuzz.py)."""


@dataclasses.dataclass(frozen=True)
class FuzzCase:
    index: int
    name: str  # the Release's metadata.name
    spec: Any  # what goes under spec: (any JSON value)
    category: str
    expect: Expect  # what parse_spec must answer: a spec, a problem, or either
    note: str  # what was done, e.g. "spec.replicas <- '3'"


def fuzz_cases(seed: int, count: int, name_prefix: str = "fz") -> list[FuzzCase]:
    """``count`` cases; the same seed gives the same cases."""
    return [fuzz_case(seed, index, name_prefix) for index in range(count)]


def fuzz_case(seed: int, index: int, name_prefix: str = "fz") -> FuzzCase:
    """Case ``index`` of ``seed``, alone (each case has its own random stream)."""
    rng = random.Random(f"{seed}:{index}")
    category = rng.choice(CATEGORY_NAMES)
    spec, expect, note, name = CATEGORIES[category](rng, valid_spec(rng), f"{name_prefix}-{index:04d}")
    return FuzzCase(index, name, spec, category, expect, note)


# ------------------------------------------------------------------ a valid spec

def valid_spec(rng: random.Random) -> dict[str, Any]:
    """A spec the validation must accept, with choices spread over the whole API."""
    spec: dict[str, Any] = {
        "version": rng.choice(["1.0.0", "2.0.1-rc.1", "v3", "🚀 4.0 (ünïcødé)", "x" * 128, "2026-06-01+sha.abc"]),
        "replicas": rng.randint(1, 3),
        "template": _template(rng),
        "service": {"ports": _ports(rng)},
        "analysis": _analysis(rng),
        "deletionPolicy": rng.choice(["Delete", "Delete", "Retain"]),
    }
    if rng.random() < 0.3:
        spec["traffic"] = {"provider": "gateway-api", "gatewayRef": {"name": "sandbox-gateway", "namespace": "default"},
                           "canaryReplicas": rng.randint(1, 3)}
        if rng.random() < 0.5:
            spec["traffic"]["hostnames"] = [f"h{i}.example.com" for i in range(rng.randint(1, 16))]
    else:
        spec["traffic"] = {"provider": "replicas", "maxWeightDrift": rng.randint(0, 100)}
    shape = rng.random()
    if shape < 0.4:
        steps = sorted(rng.sample(range(1, 100), rng.randint(1, 6)))
        spec["steps"] = steps + ([100] if rng.random() < 0.3 else [])
    elif shape < 0.7:
        step = rng.randint(1, 50)
        spec["stepWeight"] = step
        if rng.random() < 0.6:
            spec["maxWeight"] = rng.randint(step, 100)
    if rng.random() < 0.3:
        spec["notifications"] = [{"name": f"hook-{i}", "url": HOOK_URL, "type": rng.choice(["generic", "slack"]),
                                  "events": rng.sample(["pre-rollout", "rollback", "promotion", "stall",
                                                        "post-rollout"], rng.randint(1, 5))}
                                 for i in range(rng.randint(1, 3))]
    if rng.random() < 0.2:
        spec["paused"] = rng.choice([True, False])
    return spec


def _template(rng: random.Random) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": IMAGE}
    if rng.random() < 0.5:
        container["env"] = [{"name": f"E{i}", "value": rng.choice(["1", "ünï", "a b", "$(X)"])}
                            for i in range(rng.randint(1, 5))]
    if rng.random() < 0.3:
        container["env"] = container.get("env", []) + [
            {"name": "FROM_CM", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]
    if rng.random() < 0.2:
        container["envFrom"] = [{"secretRef": {"name": "sec"}}, {"configMapRef": {"name": "cfg"}}]
    spec: dict[str, Any] = {"containers": [container]}
    if rng.random() < 0.3:
        spec["volumes"] = [{"name": "c", "configMap": {"name": "cfg"}}, {"name": "s", "secret": {"secretName": "sec"}}]
    meta: dict[str, Any] = {"labels": {"app": "fuzz"}}
    if rng.random() < 0.3:
        meta["annotations"] = {"note": rng.choice(["ünïcødé ✓", "x" * 1000, "line\nbreak"])}
    return {"metadata": meta, "spec": spec}


def _ports(rng: random.Random) -> list[dict[str, Any]]:
    n = rng.randint(1, 3)
    return [{"name": f"p{i}", "port": 80 + i, "targetPort": 8080, "protocol": rng.choice(["TCP", "UDP"])}
            for i in range(n)]


def _analysis(rng: random.Random) -> dict[str, Any]:
    metrics: list[dict[str, Any]] = []
    for i in range(rng.choice([0, 0, 1, 2])):
        kind = rng.choice(["error-rate", "latency", "custom"])
        m: dict[str, Any] = {"name": f"m{i}", "type": kind, "source": rng.choice(["app", "gateway"])}
        if kind == "custom":
            m.update(judge="threshold", query='sum(rate(http_requests_total{namespace="{{namespace}}"}[{{window}}]))',
                     max=rng.choice([0.5, 10.0, 1e6]))
        elif kind == "latency":
            m.update(judge="threshold", maxRatio=rng.choice([1.5, 2.0]), quantile=rng.choice([0.5, 0.9, 0.99]))
        metrics.append(m)
    return {**({} if metrics else {"podHealthOnly": True}),  # no metric: valid only when the Release says so
            "interval": rng.choice(["1s", "2s", "10s", "1m", "1h"]), "stepDuration": rng.choice(["0s", "4s", "24h"]),
            "postPromotionWatch": rng.choice(["0s", "6s", "1h30m", "24h"]), "maxDuration": rng.choice(["1s", "1h", "168h"]),
            "metricsUnavailableLimit": rng.choice(["0s", "2m", "24h"]), "minRequests": rng.choice([0, 50, 10**9]),
            "failureThreshold": rng.randint(1, 100), "metrics": metrics,
            "judge": {"alpha": 0.05, "beta": rng.choice([0.01, 0.05, 0.49]), "r0": rng.choice([1.0, 1.1, 1.5]),
                      "r1": rng.choice([2.0, 3.0, 10.0]), "circuitBreaker": rng.choice([0.01, 0.2, 1.0])},
            "podHealth": {"readyDeadline": rng.choice(["1s", "60s", "1h"]), "maxRestarts": rng.randint(0, 1000),
                          "crashLoop": rng.choice([True, False])}}


# ------------------------------------------------------------------ paths and values

# Every typed field outside the template, with its JSON type ("number" accepts integers).
TYPED_FIELDS: Sequence[tuple[Path, str]] = (
    (("version",), "string"), (("replicas",), "integer"), (("paused",), "boolean"),
    (("deletionPolicy",), "string"), (("steps",), "array"), (("service",), "object"),
    (("service", "ports"), "array"), (("service", "ports", 0, "port"), "integer"),
    (("service", "ports", 0, "name"), "string"), (("traffic",), "object"), (("traffic", "provider"), "string"),
    (("traffic", "maxWeightDrift"), "integer"), (("analysis",), "object"), (("analysis", "interval"), "string"),
    (("analysis", "minRequests"), "integer"), (("analysis", "failureThreshold"), "integer"),
    (("analysis", "metrics"), "array"), (("analysis", "judge"), "object"), (("analysis", "judge", "alpha"), "number"),
    (("analysis", "judge", "r1"), "number"), (("analysis", "podHealth", "crashLoop"), "boolean"),
    (("analysis", "podHealth", "maxRestarts"), "integer"), (("analysis", "prometheus"), "object"),
    (("analysis", "prometheus", "name"), "string"), (("template",), "object"),
)
WRONG: dict[str, Sequence[Any]] = {
    "string": (5, 2.5, True, ["x"], {"x": 1}),
    "integer": ("3", 3.5, True, [3], {"v": 3}),
    "number": ("0.5", True, [0.5], {"v": 0.5}),
    "boolean": (1, 0, "true", "yes", [True]),
    "array": ("x", 5, {"0": 5}, True),
    "object": ("x", 5, [], True),
}
STRING_FIELDS: Sequence[Path] = (
    ("version",), ("service", "ports", 0, "name"), ("analysis", "interval"), ("analysis", "prometheus", "name"),
    ("analysis", "prometheus", "address"), ("notifications", 0, "url"), ("notifications", 0, "name"),
    ("workloadRef", "name"), ("traffic", "gatewayRef", "name"), ("analysis", "metrics", 0, "query"),
    ("analysis", "metrics", 0, "name"),
)
DURATION_FIELDS: Sequence[Path] = (
    ("analysis", "interval"), ("analysis", "stepDuration"), ("analysis", "postPromotionWatch"),
    ("analysis", "maxDuration"), ("analysis", "metricsUnavailableLimit"), ("analysis", "podHealth", "readyDeadline"))
BAD_DURATIONS = ("10", "1d", "-1s", "1h30", "1e3s", "100000000h", "1h1h1h1h1h", "999999h", "", "5 s", "1.s", "s",
                 "0.0000001ms", "1000000s", "∞s", "१०s")
UNICODE = ("ünïcødé", "名前", "🚀", "\u202eevil", "a\u0000b", "\ud800", "Ω" * 70, "\t", "é" * 20_000)
NAMES = {
    "too-long": ("a" * 45, "invalid"), "far-too-long": ("b" * 253, "invalid"), "dotted": ("web.v2", "invalid"),
    "upper": ("Web", "invalid"), "digit-first": ("2web", "invalid"), "longest": ("c" * 44, "valid"),
}


def _get(spec: Any, path: Path) -> Any:
    for part in path:
        spec = spec[part]
    return spec


def _set(spec: dict[str, Any], path: Path, value: Any) -> None:
    """Set ``path`` to ``value``, creating what is missing on the way with valid shapes."""
    node: Any = spec
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(node, list):
            while len(node) <= part:
                node.append(_filler(path[: i + 1]))
            node = node[part]
            continue
        if part not in node or not isinstance(node[part], (dict, list)):
            node[part] = [] if isinstance(nxt, int) else {}
        node = node[part]
    last = path[-1]
    if isinstance(node, list):
        while len(node) <= last:
            node.append(_filler(path))
    node[last] = value


def _filler(path: Path) -> Any:
    """A valid list item for the list at ``path`` (a port, a metric, a webhook)."""
    key = path[-2] if len(path) >= 2 else path[-1]
    return copy.deepcopy({"ports": {"name": "pf", "port": 90}, "metrics": {"name": "mf"},
                          "notifications": {"name": "hf", "url": HOOK_URL}}.get(str(key), {}))


def _fix_dependents(spec: dict[str, Any], path: Path) -> None:
    """Make the rest of the spec valid around the field a case is about."""
    if path[:1] == ("workloadRef",):
        spec.pop("template", None)
    if path[:2] == ("traffic", "gatewayRef"):
        spec["traffic"]["provider"] = "gateway-api"
        spec["traffic"]["gatewayRef"].setdefault("name", "sandbox-gateway")
    if path[:3] == ("analysis", "metrics", 0) and path[3:] == ("query",):
        spec["analysis"]["metrics"][0].update(type="custom", judge="threshold", max=1.0)


def _path_text(path: Path) -> str:
    text = "spec"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


# ------------------------------------------------------------------ categories

Made = tuple[Any, Expect, str, str]  # spec, expect, note, name


def wrong_type(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    path, kind = rng.choice(TYPED_FIELDS)
    value = rng.choice(WRONG[kind])
    _set(spec, path, value)
    return spec, "invalid", f"{_path_text(path)} <- {value!r}", name


def null_value(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    path, _ = rng.choice(TYPED_FIELDS)
    _set(spec, path, None)
    # Optional fields take a null; the API server prunes nulls from others, so either answer is right
    return spec, "either", f"{_path_text(path)} <- null", name


def unknown_field(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    where = rng.choice([(), ("analysis",), ("traffic",), ("service", "ports", 0), ("analysis", "judge")])
    key = rng.choice(["replica", "stepweight", "apiVersion", "x-extra", "ünknown", "$ref", ""])
    _get(spec, where)[key] = rng.choice([1, "x", None, {"a": 1}])
    return spec, "invalid", f"{_path_text(where + (key,))} <- unknown field", name


def template_extra(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    """A misspelt or mistyped template field Ripcord does not read: the Kubernetes client refuses to send it."""
    container = spec["template"]["spec"]["containers"][0]
    key = rng.choice(["imagePullPolcy", "x-note", "ports", "resources"])
    container[key] = rng.choice(["odd", 5, {"a": [1, 2]}])
    return spec, "invalid", f"spec.template.spec.containers[0].{key} <- a misspelt or mistyped field", name


def template_api_judged(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    """Typed right, wrong for Kubernetes: only the API server's dry run can say (an InvalidSpec after it)."""
    container = spec["template"]["spec"]["containers"][0]
    choice = rng.randrange(4)
    if choice == 0:
        container["name"] = "Not_A_DNS_Label"
    elif choice == 1:
        container["env"] = [{"name": "1 bad name", "value": "x"}]
    elif choice == 2:
        spec["template"]["metadata"]["labels"]["app"] = "not a label value!"
    else:
        spec["template"]["spec"]["restartPolicy"] = "Sometimes"
    return spec, "valid", f"template value only the API server judges ({choice})", name


def huge_string(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    path = rng.choice(STRING_FIELDS)
    value = rng.choice(string.ascii_lowercase) * rng.choice([5000, 40_000, 200_000])
    _set(spec, path, value)
    _fix_dependents(spec, path)
    return spec, "invalid", f"{_path_text(path)} <- {len(value)} characters", name


def huge_list(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    makers: list[tuple[Path, Callable[[int], list[Any]]]] = [
        (("steps",), lambda n: [1 + i % 99 for i in range(n)]),
        (("analysis", "metrics"), lambda n: [{"name": f"m{i}"} for i in range(n)]),
        (("notifications",), lambda n: [{"name": f"h{i}", "url": HOOK_URL} for i in range(n)]),
        (("service", "ports"), lambda n: [{"name": f"p{i}", "port": 1 + i} for i in range(n)]),
    ]
    path, items = rng.choice(makers)
    n = rng.choice([51, 1000, 20_000])
    for key in ("stepWeight", "maxWeight"):
        spec.pop(key, None)
    _set(spec, path, items(n))
    return spec, "invalid", f"{_path_text(path)} <- {n} items", name


def huge_number(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    path = rng.choice([("replicas",), ("analysis", "minRequests"), ("service", "ports", 0, "port"),
                       ("analysis", "judge", "r1"), ("analysis", "podHealth", "maxRestarts"), ("stepWeight",)])
    value = rng.choice([2**63, 2**70, -(2**63) - 1, 1e300, -1, 10**10])
    spec.pop("steps", None)
    _set(spec, path, value)
    return spec, "invalid", f"{_path_text(path)} <- {value!r}", name


def deep_value(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    depth = rng.choice([150, 1200, 5000])
    value: Any = rng.choice([1, "leaf", None])
    for _ in range(depth):
        value = {"k": value} if rng.random() < 0.5 else [value]
    path = rng.choice([("template", "spec", "deep"), ("template", "metadata", "annotations", "x"),
                       ("analysis", "judge", "deep"), ("deep",)])
    _set(spec, path, value)
    return spec, "invalid", f"{_path_text(path)} <- nested {depth} levels", name


def unicode_text(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    text = rng.choice(UNICODE)
    where = rng.choice(["version", "metric-name", "label-value", "env-value", "port-name"])
    surrogate = any("\ud800" <= ch <= "\udfff" for ch in text)  # the API server replaces it; a str field refuses it
    if where == "version":
        spec["version"] = text
        expect: Expect = "valid" if 1 <= len(text) <= 128 and not surrogate else "invalid"
        return spec, expect, f"spec.version <- {text[:20]!r}", name
    if where == "metric-name":
        spec["analysis"]["metrics"] = [{"name": text}]
        return spec, "invalid", f"spec.analysis.metrics[0].name <- {text[:20]!r}", name
    if where == "port-name":
        spec["service"]["ports"][0]["name"] = text
        return spec, "invalid", f"spec.service.ports[0].name <- {text[:20]!r}", name
    if where == "label-value":
        spec["template"]["metadata"]["labels"]["app"] = text
    else:
        spec["template"]["spec"]["containers"][0]["env"] = [{"name": "U", "value": text}]
    # the types are right; whether Kubernetes takes the text is the dry run's call
    return spec, "valid", f"a template {where} <- {text[:20]!r}", name


def bad_duration(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    path = rng.choice(DURATION_FIELDS)
    value = rng.choice(BAD_DURATIONS)
    _set(spec, path, value)
    return spec, "invalid", f"{_path_text(path)} <- {value!r}", name


def template_shape(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    """Wrong types where Ripcord reads the template (the cases that crashed every tick)."""
    path, value = rng.choice([
        (("template", "spec", "volumes"), ["junk"]), (("template", "metadata"), "web"),
        (("template", "metadata", "labels"), ["app", "web"]), (("template", "metadata", "labels", "app"), 7),
        (("template", "metadata", "annotations"), "a=b"), (("template", "spec"), []),
        (("template", "spec", "containers"), {"name": "app"}), (("template", "spec", "containers", 0, "env"), "A=1"),
        (("template", "spec", "containers", 0, "envFrom", 0), "cfg"),
        (("template", "spec", "volumes"), [{"name": "v", "configMap": "cfg"}]),
        (("template", "spec", "volumes"), [{"name": "v", "projected": {"sources": "cfg"}}]),
        (("template", "spec", "initContainers"), [{"image": "x"}]),
    ])
    _set(spec, path, value)
    return spec, "invalid", f"{_path_text(path)} <- {value!r}", name


def cross_field(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    """Each field fine alone, the combination not (or silently reinterpreted before issue 11)."""
    for key in ("steps", "stepWeight", "maxWeight"):
        spec.pop(key, None)
    choice = rng.randrange(12)
    if choice == 0:
        spec.update(steps=[10, 50], stepWeight=10)
    elif choice == 1:
        spec.update(maxWeight=30)
    elif choice == 2:
        spec.update(stepWeight=60)
    elif choice == 3:
        spec.update(steps=[100])
    elif choice == 4:
        spec.update(steps=[50, 20])
    elif choice == 5:
        spec["analysis"]["judge"].update(r0=2.0, r1=1.5)
    elif choice == 6:
        spec["traffic"] = {"provider": "gateway-api"}
    elif choice == 7:
        spec["traffic"] = {"provider": "replicas", "hostnames": ["a.example.com"]}
    elif choice == 8:
        spec["analysis"]["metrics"] = [{"name": "c", "type": "custom", "max": 1}]
    elif choice == 9:
        spec["analysis"]["metrics"] = [{"name": "d"}, {"name": "d"}]
    elif choice == 10:
        spec["service"]["ports"] = [{"name": "a", "port": 80}, {"name": "b", "port": 80}]
    else:
        spec["notifications"] = [{"name": "h", "url": HOOK_URL, "events": []}]
    return spec, "invalid", f"cross-field rule {choice}", name


def no_source(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    spec.pop("template")
    if rng.random() < 0.5:
        spec["workloadRef"] = {"name": rng.choice(["", "Legacy", "a/b", "-x"])}
        return spec, "invalid", "spec.workloadRef.name is not a Deployment's name", name
    return spec, "invalid", "neither template nor workloadRef", name


def not_an_object(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    return rng.choice(["web", 5, [spec], None, True]), "invalid", "spec is not an object", name


def bad_name(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    kind = rng.choice(sorted(NAMES))
    new, expect = NAMES[kind]
    return spec, expect, f"metadata.name <- {kind}", new  # type: ignore[return-value]


def collision(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    """Valid Releases whose derived names are other objects' names (a bystander's, or a Release's)."""
    new = rng.choice([BYSTANDER, f"{BYSTANDER}-a", "healthy-a", "healthy-b", f"{name}-a"])
    spec["deletionPolicy"] = "Delete"
    return spec, "valid", f"metadata.name <- {new} (its derived names are taken)", new


def odd_valid(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    """Unusual but valid: edge values of every range."""
    for key in ("steps", "stepWeight", "maxWeight"):
        spec.pop(key, None)
    choice = rng.randrange(8)
    if choice == 0:
        spec["steps"] = [1, 99, 100]
    elif choice == 1:
        spec.update(stepWeight=1, maxWeight=99)
    elif choice == 2:
        spec["analysis"]["metrics"] = []
        spec["analysis"]["podHealthOnly"] = True
        spec["analysis"]["judge"] = {"r0": 1.0, "r1": 1.21}
    elif choice == 3:
        spec["service"]["ports"] = [{"name": f"p{i}", "port": 1 + i, "targetPort": 65535} for i in range(20)]
    elif choice == 4:
        spec["notifications"] = [{"name": f"h{i}", "url": HOOK_URL} for i in range(10)]
    elif choice == 5:
        spec["analysis"].update(interval="1h", stepDuration="24h", maxDuration="168h", postPromotionWatch="24h")
    elif choice == 6:
        spec["version"] = "v" * 128
    else:
        spec["template"]["spec"]["containers"] = [{"name": f"c{i}", "image": IMAGE} for i in range(20)]
    return spec, "valid", f"edge values {choice}", name


def unchanged(rng: random.Random, spec: dict[str, Any], name: str) -> Made:
    return spec, "valid", "a valid spec", name


CATEGORIES: dict[str, Callable[[random.Random, dict[str, Any], str], Made]] = {
    "valid": unchanged, "odd-valid": odd_valid, "wrong-type": wrong_type, "null": null_value,
    "unknown-field": unknown_field, "template-extra": template_extra, "template-api-judged": template_api_judged,
    "huge-string": huge_string,
    "huge-list": huge_list, "huge-number": huge_number, "deep": deep_value, "unicode": unicode_text,
    "bad-duration": bad_duration, "template-shape": template_shape, "cross-field": cross_field,
    "no-source": no_source, "not-an-object": not_an_object, "bad-name": bad_name, "collision": collision,
}
CATEGORY_NAMES = sorted(CATEGORIES)
