"""A JSON decoder that one object cannot recurse to death, and its installation into Kopf and the client.

The API server stores objects nested far deeper than Python's recursion limit (a
Release with a value 1,200 levels deep inside ``spec.template``, 8 kB of JSON).
``json.loads`` raises RecursionError on it; inside Kopf's watch stream that ends the
operator, so one Release could leave every Release in the cluster unmanaged.

:func:`loads` decodes with ``json.loads`` and, when that recurses too deep, again with
ijson's iterative parser (yajl, in C): in both cases every subtree nested deeper than
:data:`~ripcord.api.limits.MAX_DECODE_DEPTH` levels is replaced by the string
:data:`~ripcord.api.limits.TOO_DEEP`. The object still arrives, so its own reconcile can
turn the marker into an ``InvalidSpec`` naming the field (:mod:`ripcord.api.validation`),
and nothing downstream sees a depth it cannot handle.

:func:`install` puts :func:`loads` where Kopf and the Kubernetes client decode: Kopf's
watch stream (``json.loads`` per event line), Kopf's GET/PATCH/... responses (aiohttp's
``response.json()``, lists included), and ``kubernetes.client.ApiClient.deserialize``.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Awaitable, Callable, Union

import ijson

from ripcord.api.limits import MAX_DECODE_DEPTH, TOO_DEEP

__all__ = ["loads", "cut_deep", "install", "install_client", "install_kopf", "installed", "wrap_request"]

_Container = Union[dict[str, Any], list[Any]]


def loads(text: Union[str, bytes, bytearray], max_depth: int = MAX_DECODE_DEPTH) -> Any:
    """``json.loads`` that never raises RecursionError; subtrees deeper than ``max_depth`` become TOO_DEEP.

    Invalid JSON raises ``json.JSONDecodeError`` (a ValueError), as ``json.loads`` does.
    Depth counts containers from the root: the root object or list is level 1.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        return _iterative(text, max_depth)
    return cut_deep(value, max_depth)


def cut_deep(value: Any, max_depth: int = MAX_DECODE_DEPTH) -> Any:
    """``value`` with every container nested deeper than ``max_depth`` replaced by TOO_DEEP (in place)."""
    if not isinstance(value, (dict, list)):
        return value
    if max_depth < 1:
        return TOO_DEEP
    stack: list[tuple[_Container, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                if isinstance(child, (dict, list)):
                    if depth >= max_depth:
                        node[key] = TOO_DEEP  # replacing a value keeps the dict's size: safe while iterating
                    else:
                        stack.append((child, depth + 1))
        else:
            for index, child in enumerate(node):
                if isinstance(child, (dict, list)):
                    if depth >= max_depth:
                        node[index] = TOO_DEEP
                    else:
                        stack.append((child, depth + 1))
    return value


def _iterative(text: Union[str, bytes, bytearray], max_depth: int) -> Any:
    """Build the value from ijson's flat events, skipping what lies deeper than ``max_depth``."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    stack: list[_Container] = []
    keys: list[Any] = []  # the pending map key per open map (None for lists)
    skipping = 0  # containers opened below the cut, still open
    root: Any = None
    done = False

    def attach(value: Any) -> None:
        nonlocal root, done
        if not stack:
            root, done = value, True
            return
        parent = stack[-1]
        if isinstance(parent, dict):
            parent[keys[-1]] = value
        else:
            parent.append(value)

    try:
        for event, value in ijson.basic_parse(data, use_float=True):
            if skipping:
                if event in ("start_map", "start_array"):
                    skipping += 1
                elif event in ("end_map", "end_array"):
                    skipping -= 1
                continue
            if event in ("start_map", "start_array"):
                if len(stack) >= max_depth:
                    attach(TOO_DEEP)
                    skipping = 1
                    continue
                container: _Container = {} if event == "start_map" else []
                attach(container)
                stack.append(container)
                keys.append(None)
            elif event in ("end_map", "end_array"):
                stack.pop()
                keys.pop()
                if not stack:
                    done = True
            elif event == "map_key":
                keys[-1] = value
            else:
                attach(value)
    except ijson.JSONError as exc:
        raise json.JSONDecodeError(f"invalid JSON: {exc}", data.decode("utf-8", "replace")[:200], 0) from None
    if not done:
        raise json.JSONDecodeError("invalid JSON: no value", "", 0)
    return root


class _SafeJson:
    """Stands in for the ``json`` module inside the modules patched: ``loads`` is ours, the rest is json's."""

    loads = staticmethod(loads)
    dumps = staticmethod(json.dumps)
    JSONDecodeError = json.JSONDecodeError

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


_installed: set[str] = set()


def installed() -> bool:
    return {"kopf", "client"} <= _installed


def install() -> None:
    """Decode every Kopf and Kubernetes-client response with :func:`loads` (``ripcord run``). Idempotent."""
    install_client()
    install_kopf()


def install_client() -> None:
    """``kubernetes.client.api_client.json``: ``ApiClient.deserialize``'s ``json.loads``. Idempotent.

    Enough for a process that uses the client only (the kubectl plugin, the tests, the benchmarks).
    """
    if "client" in _installed:
        return
    from kubernetes.client import api_client as kube_api_client
    _require(kube_api_client, "json")
    setattr(kube_api_client, "json", _SafeJson())  # noqa: B010 - the patched name is not the module's API
    _installed.add("client")


def install_kopf() -> None:
    """Kopf's decoding: two explicit replacements of one name each in ``kopf._cogs.clients.api``. Idempotent.

    * ``json``: the watch stream's ``json.loads`` per event line;
    * ``request``: wrapped so the response's ``.json()`` decodes with :func:`loads` (Kopf's
      GET, list, PATCH, POST and DELETE all read through it).

    A Kopf version without those names fails here, at startup, rather than leaving the
    operator unprotected.
    """
    if "kopf" in _installed:
        return
    from kopf._cogs.clients import api as kopf_api
    for name in ("json", "request", "stream"):
        _require(kopf_api, name)
    setattr(kopf_api, "json", _SafeJson())  # noqa: B010
    setattr(kopf_api, "request", wrap_request(kopf_api.request))  # noqa: B010
    _installed.add("kopf")


def _require(module: Any, name: str) -> None:
    if not hasattr(module, name):
        raise RuntimeError(f"cannot install the safe JSON decoder: {module.__name__}.{name} is gone "
                           "(a Kopf or kubernetes client upgrade?); see ripcord.kube.safejson")


def wrap_request(original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``original`` (Kopf's ``request``) whose response's ``.json()`` decodes with :func:`loads`."""
    @functools.wraps(original)
    async def request(*args: Any, **kwargs: Any) -> Any:
        response = await original(*args, **kwargs)
        response.json = functools.partial(response.json, loads=loads)
        return response
    return request
