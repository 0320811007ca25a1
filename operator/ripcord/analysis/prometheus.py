"""Prometheus access with a hard deadline on every query.

A hung Prometheus (SIGSTOP, a stuck TSDB, a black-holed network path) must never stall the
operator: pod-health rollback and manual abort have to keep acting. prometheus-api-client's
``timeout`` alone does not guarantee that (measured with version 0.7.2 against a socket that
accepts but never answers, ``timeout=1``: the call returned after **10 s**):

* its default ``Retry`` retries a read timeout 3 times, with 0 + 2 + 4 s of backoff;
* ``requests``' timeout bounds each socket operation, not the whole request, so a server
  trickling bytes keeps a call alive indefinitely; name resolution is not bounded at all.

So this module turns retries off and runs each query in a daemon thread that the caller
waits for at most ``timeout`` seconds. On expiry the caller gets :class:`MetricsUnavailable`
at once; the abandoned thread ends on its own socket timeout and can never block exit.
Server-side, Prometheus is also told the same ``timeout`` so it stops evaluating.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
import tempfile
import threading
import time
from typing import Any, Callable, Protocol, TypeVar, cast

import requests
from requests.adapters import HTTPAdapter
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from ..config import PromEndpoint
from ..redact import redact, safe_url
from . import failures
from .counters import Sample

log = logging.getLogger(__name__)
T = TypeVar("T")


class MetricsUnavailable(Exception):
    """Prometheus could not answer in time (down, hung, erroring, or unreadable answer).

    Not a verdict on the canary: the engine holds the weight and counts the outage.
    """


class QueryError(Exception):
    """Prometheus refused the query itself (HTTP 400/422: bad PromQL, bad parameters).

    A configuration problem of one metric, not an outage: retrying will not help.
    """


class QueryClient(Protocol):
    """What the analysis needs from Prometheus (a fake implements it in unit tests)."""

    def query(self, promql: str, at: float, *, timeout: float) -> list[Sample]:
        """Instant query evaluated at unix time ``at``; raises MetricsUnavailable/QueryError."""


@dataclasses.dataclass
class Deadline:
    """A total time budget shared by several queries (monotonic clock)."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    start: float = dataclasses.field(default=math.nan)

    def __post_init__(self) -> None:
        if math.isnan(self.start):
            self.start = self.clock()

    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.start)

    def timeout(self, per_query: float) -> float:
        """The timeout of the next query: its own limit, cut to what is left."""
        left = self.remaining()
        if left <= 0.05:
            raise MetricsUnavailable(f"analysis deadline of {self.seconds:g}s exhausted")
        return min(per_query, left)


def call_with_timeout(fn: Callable[[], T], timeout: float, what: str) -> T:
    """Run ``fn`` in a daemon thread; raise MetricsUnavailable if it takes over ``timeout`` s."""
    done = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=run, name="ripcord-prometheus-query", daemon=True).start()
    if not done.wait(timeout):
        raise MetricsUnavailable(f"{what}: no answer within {timeout:.1f}s")
    if "error" in box:
        raise box["error"]
    return cast(T, box["result"])


_STATUS = re.compile(r"HTTP Status Code (\d+)")


def parse_result(result: Any) -> list[Sample]:
    """prometheus-api-client's ``data.result`` -> samples.

    A vector is a list of ``{"metric": {...}, "value": [ts, "v"]}``; a scalar (or string)
    is ``[ts, "v"]``. Values are strings that may read ``NaN`` or ``+Inf``.
    """
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return [Sample({}, float(result[1]))]
    samples: list[Sample] = []
    for item in result or []:
        if not isinstance(item, dict) or "value" not in item:
            raise MetricsUnavailable("Prometheus answered a range (matrix) or an unknown result type; "
                                     "an instant vector or scalar is needed")
        samples.append(Sample(dict(item.get("metric") or {}), float(item["value"][1])))
    return samples


#: Kept-alive connections per Prometheus endpoint: as many as reconcile threads, by default.
CONNECTIONS = 32


class PrometheusClient:
    """Instant queries against one endpoint through prometheus-api-client, bounded in time."""

    def __init__(self, endpoint: PromEndpoint):
        self.endpoint = endpoint
        session = requests.Session()
        if endpoint.insecure_skip_verify:
            session.verify = False
        elif endpoint.ca_pem:
            session.verify = self._ca_file(endpoint.ca_pem)
        headers = {"Authorization": f"Bearer {endpoint.bearer_token}"} if endpoint.bearer_token else None
        # total=0: no retry of any kind; one attempt, bounded by our deadline.
        retry = Retry(total=0, redirect=0, raise_on_status=False)
        self._prom = PrometheusConnect(url=endpoint.url, headers=headers, session=session, retry=retry,
                                       timeout=endpoint.timeout_s)
        # Its adapter keeps 10 connections; every reconcile thread may query at once.
        session.mount(endpoint.url, HTTPAdapter(max_retries=retry, pool_maxsize=CONNECTIONS))

    @staticmethod
    def _ca_file(pem: str) -> str:
        # requests needs a path; the bundle is public data, the file is private to us.
        fd, path = tempfile.mkstemp(prefix="ripcord-prom-ca-", suffix=".pem")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(pem)
        return path

    def query(self, promql: str, at: float, *, timeout: float | None = None) -> list[Sample]:
        timeout = self.endpoint.timeout_s if timeout is None else timeout
        if timeout <= 0:
            raise MetricsUnavailable("no time left for a Prometheus query")
        # Prometheus durations take no fractions ("2.5s" is refused): whole milliseconds.
        params = {"time": f"{at:.3f}", "timeout": f"{max(1, int(timeout * 1000))}ms"}

        def run() -> Any:
            # The socket timeout only ends the abandoned thread; the caller's wait decides.
            return self._prom.custom_query(promql, params=params, timeout=timeout + 1.0)

        what = f"Prometheus {self.endpoint.name} ({safe_url(self.endpoint.url)})"
        # The exception's own text (URL-encoded PromQL, the connection pool's internals, the
        # answer's body) goes to the log, redacted; the sentence from `failures` goes to the status.
        try:
            result = call_with_timeout(run, timeout, what)
        except MetricsUnavailable:
            raise
        except PrometheusApiClientException as e:
            m = _STATUS.search(str(e))
            code = int(m.group(1)) if m else 0
            if code in (400, 422):
                log.warning("Prometheus %s refused the query %r: %s", self.endpoint.name, promql, _short(str(e)))
                raise QueryError(failures.query_refused(e)) from e
            raise self._unavailable(e, what, promql, timeout) from e
        except requests.RequestException as e:
            raise self._unavailable(e, what, promql, timeout) from e
        except (ValueError, KeyError, TypeError) as e:
            raise self._unavailable(e, what, promql, timeout) from e
        try:
            return parse_result(result)
        except (ValueError, TypeError, IndexError) as e:
            raise self._unavailable(e, what, promql, timeout) from e

    def _unavailable(self, exc: BaseException, what: str, promql: str, timeout: float) -> MetricsUnavailable:
        log.warning("Prometheus %s query failed: %s: %s (query %r)", self.endpoint.name, type(exc).__name__,
                    _short(str(exc)), promql)
        return MetricsUnavailable(failures.describe(exc, what, timeout=timeout))


def _short(text: str, limit: int = 300) -> str:
    """An exception's text for a message: credentials masked (the HTTP client may quote a URL), bounded."""
    text = redact(text)
    return text if len(text) <= limit else text[:limit] + "…"


class ClientCache:
    """One client per endpoint value (a credential rotation makes a new endpoint)."""

    def __init__(self, factory: Callable[[PromEndpoint], QueryClient] = PrometheusClient):
        self._factory = factory
        self._clients: dict[PromEndpoint, QueryClient] = {}
        self._lock = threading.Lock()

    def get(self, endpoint: PromEndpoint) -> QueryClient:
        with self._lock:
            client = self._clients.get(endpoint)
            if client is None:
                if len(self._clients) > 32:
                    self._clients.clear()
                client = self._clients[endpoint] = self._factory(endpoint)
            return client
