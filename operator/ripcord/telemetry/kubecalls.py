"""Kubernetes API requests made by the operator's client, counted by verb and resource.

``ripcord_kube_api_requests_total{verb, resource}`` counts every request the operator's
``kubernetes`` client (``ripcord.kube.client.BoundedApiClient``) sends, whatever its answer. The labels
use the API server's own vocabulary (``apiserver_request_total``), so the two can be
compared: ``verb`` is ``GET``, ``LIST``, ``WATCH``, ``POST``, ``PUT``, ``PATCH``,
``DELETE`` or ``DELETECOLLECTION``; ``resource`` is the plural resource name, with the
subresource after a slash (``releases/status``), or ``""`` for a path outside the
resource API (``/version``).

Kopf talks to the API server through its own aiohttp session (its watches, and the
patches of its own finalizer and annotations); those requests are not seen here.
"""
from __future__ import annotations

from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, Counter

METRIC = "ripcord_kube_api_requests"  # prometheus_client adds _total

# /api/v1/namespaces/{name}/{status|finalize} are subresources of a namespace, not
# namespaced resources called "status" or "finalize".
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


class Call(NamedTuple):
    verb: str
    resource: str


def classify(method: str, url: str) -> Call:
    """The API server's verb and resource of one request (``url``: full URL or path)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    query = parse_qs(parts.query)
    if segments[:1] == ["api"] and len(segments) >= 2:
        rest = segments[2:]
    elif segments[:1] == ["apis"] and len(segments) >= 3:
        rest = segments[3:]
    else:
        return Call(method.upper(), "")
    if (len(rest) >= 3 and rest[0] == "namespaces"
            and not (len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES)):
        rest = rest[2:]  # a namespaced resource: drop "namespaces/{ns}"
    if not rest:
        return Call(method.upper(), "")
    resource, name, sub = rest[0], rest[1] if len(rest) > 1 else None, "/".join(rest[2:])
    full = f"{resource}/{sub}" if sub else resource
    verb = method.upper()
    if verb == "GET":
        if query.get("watch", [""])[0].lower() in ("1", "true"):
            verb = "WATCH"
        elif name is None:
            verb = "LIST"
    elif verb == "DELETE" and name is None:
        verb = "DELETECOLLECTION"
    return Call(verb, full)


class KubeApiCalls:
    """The counter, in a given registry (the operator's, or a test's own)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(METRIC, "Kubernetes API requests sent by the operator's client "
                                "(Kopf's own watches and patches are not counted).",
                                ["verb", "resource"], registry=registry)

    def count(self, method: str, url: str) -> None:
        verb, resource = classify(method, url)
        self.requests.labels(verb, resource).inc()
