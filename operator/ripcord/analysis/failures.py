"""A Prometheus or HTTP failure in a short sentence, for Events, conditions and history.

The reader of ``kubectl describe release`` needs to know *what* failed ("Prometheus
`default` at http://prometheus:9090 refused the connection"), not the client library's
exception text, which carries the URL-encoded PromQL, the retry pool's internals and the
whole response body. That detail belongs in the operator's log, where the caller puts it.

Pure: an exception in, a sentence out (no I/O, no clock).
"""
from __future__ import annotations

import re
import socket
import ssl
from typing import Optional

import requests

_STATUS = re.compile(r"HTTP Status Code (\d+)")
_BODY_ERROR = re.compile(r'"error"\s*:\s*"((?:[^"\\]|\\.)*)"')
_MAX_DETAIL = 120


def http_status(exc: BaseException) -> Optional[int]:
    """The HTTP status an exception carries (a ``requests`` response, or prometheus-api-client's text)."""
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    if isinstance(code, int):
        return code
    m = _STATUS.search(str(exc))
    return int(m.group(1)) if m else None


def prometheus_error_text(exc: BaseException) -> Optional[str]:
    """Prometheus's own ``error`` field from an answer quoted in the exception, shortened."""
    m = _BODY_ERROR.search(str(exc))
    if not m:
        return None
    text = m.group(1).replace('\\"', '"')
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: Optional[BaseException] = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
        if cur is None and seen[-1].args and isinstance(seen[-1].args[0], BaseException):
            cur = seen[-1].args[0]  # urllib3 wraps its reason as the first argument
    return seen


def _has(exc: BaseException, *types: type[BaseException]) -> bool:
    return any(isinstance(c, types) for c in _causes(exc))


def describe(exc: BaseException, what: str, *, timeout: Optional[float] = None) -> str:
    """``what`` (e.g. "Prometheus `default` at http://prometheus:9090") and what went wrong, in words.

    >>> describe(requests.ConnectTimeout(), "Prometheus `default`", timeout=2)
    'Prometheus `default` did not accept a connection within 2 s'
    """
    within = f" within {timeout:g} s" if timeout is not None else ""
    text = str(exc).lower()
    if isinstance(exc, requests.ConnectTimeout) or "connecttimeout" in text:
        return f"{what} did not accept a connection{within}"
    if isinstance(exc, (requests.ReadTimeout, TimeoutError, socket.timeout)) or "timed out" in text:
        return f"{what} did not answer{within}"
    if isinstance(exc, requests.exceptions.SSLError) or _has(exc, ssl.SSLError):
        return f"{what}: the TLS handshake failed (certificate or protocol)"
    if _has(exc, socket.gaierror) or "name or service not known" in text or "failed to resolve" in text \
            or "nodename nor servname" in text or "temporary failure in name resolution" in text:
        return f"{what}: its host name does not resolve"
    if _has(exc, ConnectionRefusedError) or "connection refused" in text:
        return f"{what} refused the connection"
    if _has(exc, ConnectionResetError) or "connection reset" in text or "remotedisconnected" in text \
            or "connection aborted" in text:
        return f"{what} closed the connection without an answer"
    code = http_status(exc)
    if code is not None:
        return f"{what} answered {http_phrase(code)}"
    if isinstance(exc, requests.ConnectionError):
        return f"{what} could not be reached"
    if isinstance(exc, (ValueError, KeyError, TypeError, IndexError)):
        return f"{what} gave an answer that is not a Prometheus query result"
    return f"{what} failed ({type(exc).__name__})"


def http_phrase(code: int) -> str:
    """``HTTP 503 (unavailable)``: the status with a word on what it usually means."""
    words = {401: "credentials refused", 403: "access denied", 404: "no query API at this address",
             408: "request timeout", 429: "too many requests", 500: "server error", 502: "bad gateway",
             503: "unavailable", 504: "gateway timeout"}
    word = words.get(code, "server error" if 500 <= code < 600 else "")
    return f"HTTP {code}" + (f" ({word})" if word else "")


def query_refused(exc: BaseException) -> str:
    """A query Prometheus refused as invalid (HTTP 400/422), without the PromQL itself."""
    code = http_status(exc)
    detail = prometheus_error_text(exc)
    return ("Prometheus refused the query as invalid"
            + (f" (HTTP {code}" + (f": {detail})" if detail else ")") if code else (f" ({detail})" if detail else "")))


def internal_error(exc: BaseException) -> str:
    """A bug in the analysis: named by type only, the traceback is in the operator log."""
    return f"the analysis failed on an internal error ({type(exc).__name__}; details in the operator log)"
