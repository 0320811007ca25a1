"""Request matches in the two route dialects: Gateway API HTTPRoute matches and Istio HTTPMatchRequests.

Pure. ``traffic.matches`` says which requests the generated route serves; ``traffic.testers``
adds, to each of those, a header (or cookie) that sends the request to the canary. A cookie
is matched on the ``Cookie`` header with a regular expression anchored at the cookie's
boundaries, so ``canary=always`` matches ``a=1; canary=always`` but not ``xcanary=always``.
"""
from __future__ import annotations

import re
from typing import Any, Optional

from ripcord.api.models import HeaderMatch, RequestMatch, Tester

CATCH_ALL = RequestMatch()


def tester_header(t: Tester) -> HeaderMatch:
    if t.header is not None:
        return HeaderMatch(name=t.header, value=t.value)
    assert t.cookie is not None
    return HeaderMatch(name="Cookie", type="RegularExpression", value=cookie_regex(t.cookie, t.value))


def cookie_regex(name: str, value: str) -> str:
    """A full-match RE2 expression for a Cookie header holding ``name=value``."""
    return rf"^(.*;\s*)?{re.escape(name)}={re.escape(value)}(;.*)?$"


def tester_matches(matches: list[RequestMatch], testers: list[Tester]) -> list[RequestMatch]:
    """Every served match combined with every tester's header: a tester's request to any served path."""
    return [RequestMatch(path=m.path, method=m.method, headers=[*m.headers, tester_header(t)])
            for t in testers for m in (matches or [CATCH_ALL])]


# ------------------------------------------------------------------ Gateway API

def gateway_match(m: RequestMatch) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m.path is not None:
        out["path"] = {"type": m.path.type, "value": m.path.value}
    if m.headers:
        out["headers"] = [{"type": h.type, "name": h.name, "value": h.value} for h in m.headers]
    if m.method:
        out["method"] = m.method
    return out or {"path": {"type": "PathPrefix", "value": "/"}}


# ------------------------------------------------------------------ Istio

def _string_match(kind: str, value: str) -> dict[str, str]:
    return {{"Exact": "exact", "PathPrefix": "prefix", "RegularExpression": "regex"}[kind]: value}


def istio_match(m: RequestMatch, port: Optional[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m.path is not None:
        out["uri"] = _string_match(m.path.type, m.path.value)
    if m.headers:
        out["headers"] = {h.name.lower(): _string_match(h.type, h.value) for h in m.headers}
    if m.method:
        out["method"] = {"exact": m.method}
    if port is not None:
        out["port"] = port
    return out
