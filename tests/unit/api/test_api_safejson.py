"""The decoder one object cannot recurse to death (issue 11, item 1), and its installation."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ripcord.api.limits import MAX_DECODE_DEPTH, TOO_DEEP
from ripcord.kube import safejson


def nested(depth: int, leaf: str = "1", key: str = "k") -> str:
    """A JSON object ``depth`` levels deep: {"k": {"k": ... leaf}}."""
    return f'{{"{key}": ' * depth + leaf + "}" * depth


def depth_of(value: Any) -> tuple[int, Any]:
    """(containers on the path of first children, the leaf at its end)."""
    n = 0
    while isinstance(value, (dict, list)):
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
        n += 1
    return n, value


def test_plain_json_decodes_as_json_loads_does() -> None:
    text = '{"a": [1, 2.5, "é😀", null, true, {"b": -0}], "c": 1E3, "d": 9223372036854775807}'
    assert safejson.loads(text) == json.loads(text)
    assert safejson.loads(text.encode()) == json.loads(text)


def test_a_release_1200_levels_deep_decodes_with_the_deep_part_cut() -> None:
    """The reproduced case: 1,200 levels (8 kB) made json.loads raise RecursionError in Kopf's watch."""
    text = '{"type": "ADDED", "object": {"spec": {"template": ' + nested(1200) + "}}}"
    with pytest.raises(RecursionError):
        json.loads(text)
    event = safejson.loads(text)
    assert event["type"] == "ADDED"
    # the event is level 1, object 2, spec 3: the template keeps the levels up to the bound
    assert depth_of(event["object"]["spec"]["template"]) == (MAX_DECODE_DEPTH - 3, TOO_DEEP)


def test_very_deep_lists_decode_too() -> None:
    text = "[" * 100_000 + "]" * 100_000
    depth, leaf = depth_of(safejson.loads(text))
    assert (depth, leaf) == (MAX_DECODE_DEPTH, TOO_DEEP)


@pytest.mark.parametrize("depth", [MAX_DECODE_DEPTH - 1, MAX_DECODE_DEPTH, MAX_DECODE_DEPTH + 1, 500, 5000])
def test_both_paths_cut_at_the_same_level(depth: int) -> None:
    """json.loads (shallow enough for it) and the iterative parser (deeper) give the same shape."""
    got = depth_of(safejson.loads(nested(depth)))
    want = (depth, 1) if depth <= MAX_DECODE_DEPTH else (MAX_DECODE_DEPTH, TOO_DEEP)
    assert got == want
    assert safejson._iterative(nested(depth), MAX_DECODE_DEPTH) == safejson.loads(nested(depth))


def test_siblings_of_a_deep_value_are_kept() -> None:
    text = '{"a": 1, "deep": ' + nested(3000) + ', "b": [1, {"c": "d"}], "z": "last"}'
    value = safejson.loads(text, max_depth=5)
    assert value["a"] == 1 and value["b"] == [1, {"c": "d"}] and value["z"] == "last"
    assert depth_of(value["deep"]) == (4, TOO_DEEP)


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} x', "[1, 2", "nope", "[" * 5000 + "]" * 4999])
def test_invalid_json_is_a_value_error_on_both_paths(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        safejson.loads(text)


def test_cut_deep_leaves_shallow_values_alone() -> None:
    value = {"a": [{"b": 1}], "c": "x"}
    assert safejson.cut_deep(value, 3) == {"a": [{"b": 1}], "c": "x"}
    assert safejson.cut_deep(value, 2) == {"a": [TOO_DEEP], "c": "x"}
    assert safejson.cut_deep(5, 1) == 5


def test_install_puts_the_decoder_into_kopf_and_the_kubernetes_client() -> None:
    from kopf._cogs.clients import api as kopf_api
    from kubernetes import client
    from kubernetes.client import api_client as kube_api_client

    safejson.install()
    safejson.install()  # idempotent
    assert safejson.installed()
    deep = '{"kind": "Release", "spec": ' + nested(1200) + "}"
    # Kopf's watch stream decodes each event line with the module's json.loads
    assert depth_of(kopf_api.json.loads(deep)["spec"]) == (MAX_DECODE_DEPTH - 1, TOO_DEEP)
    # the kubernetes client's deserialisation (CustomObjectsApi returns the decoded object)
    decoded = client.ApiClient().deserialize(deep, "object", "application/json")
    assert decoded["kind"] == "Release" and depth_of(decoded["spec"]) == (MAX_DECODE_DEPTH - 1, TOO_DEEP)
    assert kube_api_client.json.dumps({"a": 1}) == '{"a": 1}'  # the rest of json is json's
    assert getattr(kopf_api.request, "__wrapped__", None) is not None


class FakeResponse:
    """What Kopf's request() returns: an aiohttp response whose json() takes a loads."""

    def __init__(self, body: str) -> None:
        self.body = body

    async def json(self, *, loads: Any = json.loads) -> Any:
        return loads(self.body)


def test_kopf_responses_decode_with_the_safe_decoder() -> None:
    """Kopf's GET/list/PATCH read `await response.json()`: a deep object in a list must not raise."""
    body = '{"kind": "ReleaseList", "items": [{"spec": ' + nested(1200) + '}, {"spec": {"ok": 1}}]}'

    async def original(*_: Any, **__: Any) -> FakeResponse:
        return FakeResponse(body)

    async def list_releases() -> Any:
        response = await safejson.wrap_request(original)("get", "/apis/ripcord.dev/v1alpha1/releases")
        return await response.json()

    with pytest.raises(RecursionError):
        json.loads(body)
    listed = asyncio.run(list_releases())
    assert listed["items"][1] == {"spec": {"ok": 1}}
    assert depth_of(listed["items"][0])[1] == TOO_DEEP
