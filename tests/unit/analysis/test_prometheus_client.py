"""The Prometheus client: hard timeouts, no retries, typed errors, result parsing.

Runs against throw-away local sockets: one that never answers (what a SIGSTOPped
Prometheus looks like from outside: the kernel completes the TCP handshake, nobody
reads) and a tiny HTTP server with canned answers.
"""
from __future__ import annotations

import http.server
import json
import math
import socket
import threading
import time
import urllib.parse
from typing import Iterator

import pytest

from ripcord.analysis.prometheus import (
    Deadline, MetricsUnavailable, PrometheusClient, QueryError, call_with_timeout, parse_result,
)
from ripcord.config import PromEndpoint


@pytest.fixture
def silent_port() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)  # never accept(): connections complete in the backlog, nothing answers
    try:
        yield srv.getsockname()[1]
    finally:
        srv.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append(self)
        self.server.seen.append((self.path, dict(self.headers)))
        status, body = self.server.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    answer: tuple[int, object]
    seen: list[tuple[str, dict[str, str]]]
    requests: list[object]


@pytest.fixture
def fake_prom() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.seen, srv.requests = [], []
    srv.answer = (200, {"status": "success", "data": {"resultType": "vector", "result": []}})
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def endpoint(port: int, **kw: object) -> PromEndpoint:
    return PromEndpoint(name="test", url=f"http://127.0.0.1:{port}", **kw)  # type: ignore[arg-type]


def test_hung_server_gives_unavailable_within_the_timeout(silent_port):
    client = PrometheusClient(endpoint(silent_port, timeout_s=0.5))
    t0 = time.monotonic()
    with pytest.raises(MetricsUnavailable, match="Prometheus test"):
        client.query("up", time.time())
    # the library alone took 10 s here (3 retries + backoff); the bound is generous
    assert time.monotonic() - t0 < 3.0


def test_explicit_timeout_overrides_the_endpoint(silent_port):
    client = PrometheusClient(endpoint(silent_port, timeout_s=30))
    t0 = time.monotonic()
    with pytest.raises(MetricsUnavailable):
        client.query("up", time.time(), timeout=0.3)
    assert time.monotonic() - t0 < 3.0


def test_refused_connection_is_unavailable():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(MetricsUnavailable) as e:
        PrometheusClient(endpoint(port, timeout_s=2)).query('sum(rate(x{a="b"}[1m]))', time.time())
    # what failed, in words: no exception class, no connection-pool text, no URL-encoded PromQL
    assert str(e.value) == f"Prometheus test (http://127.0.0.1:{port}) refused the connection"


def test_vector_answer_and_parameters(fake_prom):
    fake_prom.answer = (200, {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"pod": "p1", "code": "200"}, "value": [1700000000.0, "42"]},
        {"metric": {"pod": "p2", "code": "500"}, "value": [1700000000.0, "NaN"]},
    ]}})
    client = PrometheusClient(endpoint(fake_prom.server_address[1], timeout_s=2, bearer_token="tok"))
    samples = client.query('http_requests_total{namespace="x"}', 1700000000.25)
    assert samples[0].labels == {"pod": "p1", "code": "200"} and samples[0].value == 42
    assert math.isnan(samples[1].value)
    path, headers = fake_prom.seen[0]
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    assert params["time"] == ["1700000000.250"]
    assert params["timeout"] == ["2000ms"]  # Prometheus refuses "2.000s"
    assert params["query"] == ['http_requests_total{namespace="x"}']
    assert headers["Authorization"] == "Bearer tok"


def test_bad_query_is_a_query_error_not_an_outage(fake_prom):
    fake_prom.answer = (400, {"status": "error", "errorType": "bad_data", "error": "parse error"})
    with pytest.raises(QueryError) as e:
        PrometheusClient(endpoint(fake_prom.server_address[1])).query("sum(", time.time())
    assert str(e.value) == "Prometheus refused the query as invalid (HTTP 400: parse error)"


def test_server_error_is_unavailable_and_not_retried(fake_prom):
    fake_prom.answer = (503, {"status": "error", "error": "overloaded"})
    with pytest.raises(MetricsUnavailable, match=r"answered HTTP 503 \(unavailable\)$"):
        PrometheusClient(endpoint(fake_prom.server_address[1])).query("up", time.time())
    assert len(fake_prom.seen) == 1


def test_parse_scalar_and_reject_matrix():
    assert parse_result([1700000000.0, "3.5"])[0].value == 3.5
    with pytest.raises(MetricsUnavailable, match="matrix"):
        parse_result([{"metric": {}, "values": [[1, "1"]]}])


def test_call_with_timeout_passes_results_and_errors():
    assert call_with_timeout(lambda: 7, 1.0, "x") == 7
    with pytest.raises(ZeroDivisionError):
        call_with_timeout(lambda: 1 / 0, 1.0, "x")
    gate = threading.Event()
    with pytest.raises(MetricsUnavailable):
        call_with_timeout(gate.wait, 0.05, "x")
    gate.set()


def test_deadline_cuts_query_timeouts():
    now = [100.0]
    d = Deadline(5.0, clock=lambda: now[0])
    assert d.timeout(2.0) == 2.0
    now[0] = 104.0
    assert d.timeout(2.0) == pytest.approx(1.0)
    now[0] = 105.0
    with pytest.raises(MetricsUnavailable, match="deadline"):
        d.timeout(2.0)


def test_the_session_keeps_a_connection_for_every_reconcile_thread_and_never_retries():
    from ripcord.analysis.prometheus import CONNECTIONS
    client = PrometheusClient(endpoint(9))
    adapter = client._prom._session.get_adapter(client.endpoint.url + "/api/v1/query")
    assert adapter._pool_maxsize == CONNECTIONS >= 32
    assert adapter.max_retries.total == 0
