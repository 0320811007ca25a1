"""Prometheus/HTTP failures in words: what an Event or a condition says instead of the exception text."""
from __future__ import annotations

import socket

import pytest
import requests
from prometheus_api_client import PrometheusApiClientException

from ripcord.analysis import failures

WHAT = "Prometheus default (http://prometheus:9090)"
POOL = ("HTTPConnectionPool(host='prometheus', port=9090): Max retries exceeded with url: "
        "/api/v1/query?query=last_over_time%28http_requests_total%7Bnamespace%3D%22shop%22%7D%5B5m%5D%29 "
        "(Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f>: "
        "Failed to establish a new connection: [Errno 111] Connection refused'))")


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize("exc, want", [
    (requests.ConnectionError(POOL), "refused the connection"),
    (_chained(requests.ConnectionError("pool"), ConnectionRefusedError(111, "refused")), "refused the connection"),
    (requests.ConnectionError("HTTPConnectionPool(...): Failed to resolve 'prometheus' "
                              "([Errno -2] Name or service not known)"), "its host name does not resolve"),
    (_chained(requests.ConnectionError("pool"), socket.gaierror(-2, "x")), "its host name does not resolve"),
    (requests.ConnectTimeout("pool"), "did not accept a connection within 2 s"),
    (requests.ReadTimeout("Read timed out. (read timeout=2)"), "did not answer within 2 s"),
    (requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"), "the TLS handshake failed (certificate or protocol)"),
    (requests.ConnectionError("('Connection aborted.', RemoteDisconnected('closed'))"),
     "closed the connection without an answer"),
    (PrometheusApiClientException("HTTP Status Code 503 (b'overloaded')"), "answered HTTP 503 (unavailable)"),
    (PrometheusApiClientException("HTTP Status Code 401 (b'')"), "answered HTTP 401 (credentials refused)"),
    (ValueError("Expecting value: line 1 column 1"), "gave an answer that is not a Prometheus query result"),
    (requests.ConnectionError("something else"), "could not be reached"),
])
def test_failures_in_words(exc: BaseException, want: str) -> None:
    text = failures.describe(exc, WHAT, timeout=2.0)
    assert text.startswith(WHAT) and text.endswith(want), text
    assert "%28" not in text and "Max retries" not in text and "Error(" not in text


def test_an_unknown_failure_is_named_by_its_type_only() -> None:
    assert failures.describe(RuntimeError("x" * 500), WHAT) == f"{WHAT} failed (RuntimeError)"


def test_refused_query_keeps_prometheus_reason_and_drops_the_promql() -> None:
    exc = PrometheusApiClientException(
        'HTTP Status Code 400 (b\'{"status":"error","errorType":"bad_data","error":"1:5: parse error: '
        'unclosed left parenthesis"}\')')
    assert failures.query_refused(exc) == ("Prometheus refused the query as invalid "
                                           "(HTTP 400: 1:5: parse error: unclosed left parenthesis)")
    assert failures.query_refused(PrometheusApiClientException("HTTP Status Code 422 (b'')")) == \
        "Prometheus refused the query as invalid (HTTP 422)"


def test_internal_error_names_the_type_and_points_at_the_log() -> None:
    text = failures.internal_error(KeyError("judge_state['sequential']['x']"))
    assert text == "the analysis failed on an internal error (KeyError; details in the operator log)"
