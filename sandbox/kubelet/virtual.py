"""Virtual pods: containers of the image ``ripcord/virtual-app:<version>`` run no process.

A virtual container behaves like the demo app at that version as far as Kubernetes and
Prometheus can tell, at a tiny fraction of the cost, so that a thousand Releases fit on
the sandbox: it becomes Ready when its readiness probe would first pass, crashes and is
restarted with back-off like a process (``ContainerRunner`` does that part), and its
request metrics are *synthesised*: the counters grow as if ``REQUEST_RATE`` requests per
second reached the pod, with the demo app's knobs deciding the codes and latencies.

Knobs (container ``env``, as for the demo app; ``sandbox.demoapp``): ``ERROR_RATE``,
``LATENCY_MS``, ``LATENCY_JITTER_MS``, ``HANG_RATE`` (hung requests are never counted),
``CRASH_AFTER_S``, ``SLOW_START_S``, ``READY_FAIL``, ``SEED``/``SEED_SALT``, plus
``REQUEST_RATE`` (requests per second per pod, default 10). Version ``2.0.0`` answers
every request with a 500, as the demo app does. A bad knob value ends the "process" with
exit code 1, as it ends the demo app.

Metrics: every running virtual container's series are served together by the kubelet
stand-in (``/metrics/virtual``, one Prometheus target with ``honor_labels``), carrying the
labels a scrape of the pod itself would get (``job="pods"``, ``instance``, ``namespace``,
``pod``, ``workload``, ``pod_template_hash``, ``label_*``), so the operator's queries
cannot tell them from a real pod's. The series are the demo app's
``http_requests_total{code,method,path}`` and ``http_request_duration_seconds``
(buckets as in the demo app), for ``GET /api/status``. Counters are advanced lazily, at
each scrape, by random draws for the time elapsed (Poisson arrivals); they start from
zero with each container start, so a restart is a counter reset, as with a real process.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Optional

import numpy as np

from ..demoapp import BAD_VERSIONS, BUCKETS, Knobs

REPOSITORY = "ripcord/virtual-app"
PATH = "/api/status"
METHOD = "GET"
DEFAULT_REQUEST_RATE = 10.0
#: The demo app's own time to answer on loopback, which LATENCY_MS adds to (lognormal).
BASE_LATENCY_MEDIAN_S = 0.002
BASE_LATENCY_SIGMA = 0.5


class KnobError(ValueError):
    """A knob the app cannot start with; the message names the variable."""


@dataclass(frozen=True)
class VirtualKnobs:
    app: Knobs
    request_rate: float = DEFAULT_REQUEST_RATE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "VirtualKnobs":
        try:
            app = Knobs.from_env(env)
        except SystemExit as e:  # the demo app's way to refuse a knob
            raise KnobError(str(e)) from None
        raw = env.get("REQUEST_RATE", "").strip()
        try:
            rate = float(raw) if raw else DEFAULT_REQUEST_RATE
        except ValueError:
            raise KnobError(f"virtual-app: REQUEST_RATE={raw!r} is not a number") from None
        if not (rate >= 0 and math.isfinite(rate)):
            raise KnobError(f"virtual-app: REQUEST_RATE must be a finite number >= 0, not {raw!r}")
        return cls(app=app, request_rate=rate)


def _probe_timing(probe: Mapping[str, object]) -> tuple[float, float, int]:
    def num(key: str, default: float) -> float:
        v = probe.get(key)
        return float(v) if isinstance(v, (int, float)) and v else default
    return num("initialDelaySeconds", 0.0), num("periodSeconds", 10.0), int(num("successThreshold", 1))


def started_after(container: Mapping[str, object]) -> float:
    """Seconds after the start at which a startup probe first passes (0 without one)."""
    probe = container.get("startupProbe")
    return _probe_timing(probe)[0] if isinstance(probe, Mapping) else 0.0


def ready_after(container: Mapping[str, object], knobs: Knobs) -> Optional[float]:
    """Seconds after the start at which the container turns Ready; None: never.

    Probes run at ``initialDelaySeconds`` (not before the startup probe passed), then
    every ``periodSeconds``; ``/ready`` fails during ``SLOW_START_S`` and always with
    ``READY_FAIL``; ``successThreshold`` passes in a row make it Ready. Without a
    readiness probe the container is Ready once started, as with a real kubelet.
    """
    probe = container.get("readinessProbe")
    first_allowed = started_after(container)
    if not isinstance(probe, Mapping):
        return first_allowed
    if knobs.ready_fail:
        return None
    delay, period, successes = _probe_timing(probe)
    first = max(delay, first_allowed)
    if knobs.slow_start_s > first:
        first += math.ceil((knobs.slow_start_s - first) / period) * period
    return first + (successes - 1) * period


class VirtualApp:
    """One virtual container instance (one "process"): its counters from zero."""

    def __init__(self, version: str, knobs: VirtualKnobs, started: float, rng: np.random.Generator) -> None:
        self.version = version
        self.knobs = knobs
        self.rng = rng
        self.started = started
        self._last = started
        self.codes: dict[str, int] = {}  # code -> requests; a code's series exists from its first request
        self.buckets = np.zeros(len(BUCKETS) + 1, dtype=np.int64)  # per bucket, the last one is +Inf
        self.total_s = 0.0
        self.count = 0

    @classmethod
    def start(cls, version: str, knobs: VirtualKnobs, started: float) -> "VirtualApp":
        k = knobs.app
        # as the demo app: SEED makes the draws reproducible, SEED_SALT (e.g. the pod name) varies them
        seed = None if k.seed is None else int.from_bytes(
            hashlib.sha256(f"{k.seed}/{k.seed_salt}".encode()).digest()[:8], "big")
        return cls(version, knobs, started, np.random.default_rng(seed))

    def advance(self, now: float) -> None:
        """Serve the requests that arrived since the last call (no-op if time went back)."""
        dt = now - self._last
        if dt <= 0:
            return
        self._last = now
        k, rng = self.knobs.app, self.rng
        arrived = int(rng.poisson(self.knobs.request_rate * dt))
        answered = arrived - (int(rng.binomial(arrived, k.hang_rate)) if k.hang_rate else 0)
        if answered <= 0:
            return
        if self.version in BAD_VERSIONS:
            errors = answered
        else:
            errors = int(rng.binomial(answered, k.error_rate)) if k.error_rate else 0
        for code, n in (("200", answered - errors), ("500", errors)):
            if n:
                self.codes[code] = self.codes.get(code, 0) + n
        latency = rng.lognormal(math.log(BASE_LATENCY_MEDIAN_S), BASE_LATENCY_SIGMA, answered)
        latency += k.latency_ms / 1000.0
        if k.latency_jitter_ms:
            latency += rng.uniform(-k.latency_jitter_ms, k.latency_jitter_ms, answered) / 1000.0
        np.clip(latency, 0.0, None, out=latency)
        # bucket i holds the observations <= BUCKETS[i] and > BUCKETS[i-1]; the last is +Inf
        self.buckets += np.bincount(np.searchsorted(BUCKETS, latency, side="left"), minlength=len(self.buckets))
        self.total_s += float(latency.sum())
        self.count += answered


# ----------------------------------------------------------------------------- exposition

def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())


def _le(bound: float) -> str:
    return repr(float(bound))


def exposition(apps: Iterable[tuple[Mapping[str, str], VirtualApp]]) -> str:
    """The text exposition of every app's series, each with its pod's target labels."""
    requests: list[str] = []
    buckets: list[str] = []
    sums: list[str] = []
    counts: list[str] = []
    for target, app in apps:
        base = _labels(target)
        for code, n in sorted(app.codes.items()):
            requests.append(f'http_requests_total{{{base},code="{code}",method="{METHOD}",path="{PATH}"}} {n}')
        hist = f'{base},method="{METHOD}",path="{PATH}"'
        cumulative = np.cumsum(app.buckets)
        for bound, c in zip((*BUCKETS, math.inf), cumulative):
            le = "+Inf" if math.isinf(bound) else _le(bound)
            buckets.append(f'http_request_duration_seconds_bucket{{{hist},le="{le}"}} {int(c)}')
        sums.append(f"http_request_duration_seconds_sum{{{hist}}} {app.total_s!r}")
        counts.append(f"http_request_duration_seconds_count{{{hist}}} {app.count}")
    lines = ["# HELP http_requests_total HTTP requests answered.", "# TYPE http_requests_total counter",
             *requests,
             "# HELP http_request_duration_seconds Time to answer an HTTP request.",
             "# TYPE http_request_duration_seconds histogram", *buckets, *sums, *counts]
    return "\n".join(lines) + "\n"


class VirtualPods:
    """The running virtual containers of the node, by container id, and their exposition.

    ``labels`` is asked at each scrape, so a pod's current labels are used; it returns
    None for a pod that must not be scraped (``prometheus.io/scrape: "false"``).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._apps: dict[str, tuple[Callable[[], Optional[Mapping[str, str]]], VirtualApp]] = {}

    def add(self, container_id: str, labels: Callable[[], Optional[Mapping[str, str]]], app: VirtualApp) -> None:
        self._apps[container_id] = (labels, app)

    def remove(self, container_id: str) -> None:
        self._apps.pop(container_id, None)

    def __len__(self) -> int:
        return len(self._apps)

    def render(self) -> str:
        now = self.clock()
        live: list[tuple[Mapping[str, str], VirtualApp]] = []
        for labels, app in self._apps.values():
            target = labels()
            if target is None:
                continue
            app.advance(now)
            live.append((target, app))
        live.sort(key=lambda t: (t[0].get("namespace", ""), t[0].get("pod", "")))
        return exposition(live)
