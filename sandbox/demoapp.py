"""The demo application the sandbox runs for the image ``ripcord/demo-app:<version>``.

Version 1.0.0 is good, 2.0.0 reproduces the bugs of the seed post-mortem (``/health``
and ``/api/status`` answer 500), 2.0.1 is the fix; any other version is good. Knobs by
environment variable turn any version into a bad one, so tests and demos can make the
failure they need:

==================== ==========================================================
``ERROR_RATE``       share (0..1) of 500s on ``/api/status`` and ``/health``
``LATENCY_MS``       added latency on those paths (``LATENCY_JITTER_MS``: ± uniform)
``HANG_RATE``        share of those requests never answered until the client leaves
``RESET_RATE``       share of those requests whose connection is reset (TCP RST, no
                     answer): what a proxy reports as ``503 UC``
``REFUSE_TRAFFIC=1`` nothing listens on the traffic port (``--port``): every connection
                     is refused (``503 UF``) while ``PROBE_PORT`` keeps the pod Ready
``PROBE_PORT``       also serve every path on this port, e.g. for a readiness probe
                     (``readinessProbe.httpGet.port``) that must stay green while the
                     traffic port refuses or resets connections: a pod that is Ready and
                     fails every client all the same
``CRASH_AFTER_S``    the process exits 1 after that many seconds
``CRASH_TIMES``      crash (``CRASH_AFTER_S``) only in the first N runs of the container,
                     then stay up: runs are counted in ``.demoapp-runs`` in the working
                     directory, which a container restart keeps (the kubelet stand-in runs
                     a pod's containers in the pod's directory, like an emptyDir)
``SLOW_START_S``     ``/ready`` fails for that many seconds after start
``READY_FAIL=1``     ``/ready`` always fails
``SEED``             seed of the random draws, for reproducible runs
``SHUTDOWN_DELAY_S`` after SIGTERM, keep answering this long before stopping (default 2;
                     a preStop sleep's job: the data plane sees the pod terminating first)
``SEED_SALT``        mixed into ``SEED`` (e.g. the pod's name, from the Downward API), so
                     the replicas of one Deployment draw independent sequences instead of
                     the same one (which would fail together, like a single pod)
==================== ==========================================================

``/ready`` is the readiness endpoint and deliberately shares nothing with ``/health``:
2.0.0 must become Ready so that the canary receives traffic and its metrics can judge
it. Metrics follow docs/design.md: ``http_requests_total{code,method,path}`` and
``http_request_duration_seconds{method,path}``. Probes (``/ready``) and scrapes
(``/metrics``) are not counted; hung requests are not counted either, because a hung
app never reports them (only the gateway sees them).

Stdlib HTTP server with one thread per connection: many instances share 2 cores, and
the gateway keeps its connections alive, so the per-request cost stays small.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
APP_PATHS = ("/api/status", "/health")
BAD_VERSIONS = frozenset({"2.0.0"})
HEALTH_BUG = "TypeError: Cannot read property 'toString' of undefined"
STATUS_BUG = "Error: Database connection failed"
HANG_MAX_S = 300.0  # a hang ends when the client leaves, or after this long at most

disable_created_metrics()  # the *_created series only add load to the sandbox's Prometheus


def _env_flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes")


def _env_float(env: Mapping[str, str], name: str, default: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"demoapp: {name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class Knobs:
    """Fault injection read from the environment (see the module docstring)."""

    error_rate: float = 0.0
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    hang_rate: float = 0.0
    reset_rate: float = 0.0
    refuse_traffic: bool = False
    probe_port: int = 0
    crash_after_s: float = 0.0
    crash_times: int = 0  # 0: every run crashes
    slow_start_s: float = 0.0
    ready_fail: bool = False
    seed: int | None = None
    seed_salt: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Knobs":
        seed = env.get("SEED", "").strip()
        knobs = cls(
            error_rate=_env_float(env, "ERROR_RATE"),
            latency_ms=_env_float(env, "LATENCY_MS"),
            latency_jitter_ms=_env_float(env, "LATENCY_JITTER_MS"),
            hang_rate=_env_float(env, "HANG_RATE"),
            reset_rate=_env_float(env, "RESET_RATE"),
            refuse_traffic=_env_flag(env, "REFUSE_TRAFFIC"),
            probe_port=int(_env_float(env, "PROBE_PORT")),
            crash_after_s=_env_float(env, "CRASH_AFTER_S"),
            crash_times=int(_env_float(env, "CRASH_TIMES")),
            slow_start_s=_env_float(env, "SLOW_START_S"),
            ready_fail=_env_flag(env, "READY_FAIL"),
            seed=int(seed) if seed else None,
            seed_salt=env.get("SEED_SALT", "").strip(),
        )
        for name in ("error_rate", "hang_rate", "reset_rate"):
            if not 0.0 <= getattr(knobs, name) <= 1.0:
                raise SystemExit(f"demoapp: {name.upper()} must be within 0..1")
        if knobs.crash_times < 0:
            raise SystemExit("demoapp: CRASH_TIMES must be >= 0")
        if not 0 <= knobs.probe_port <= 65535:
            raise SystemExit("demoapp: PROBE_PORT must be a port number")
        if knobs.refuse_traffic and not knobs.probe_port:
            raise SystemExit("demoapp: REFUSE_TRAFFIC needs a PROBE_PORT (else nothing would listen at all)")
        return knobs


@dataclass(frozen=True)
class Answer:
    """What the app decided to do with one request; ``hang`` means: never answer, ``reset``:
    reset the connection instead of answering."""

    code: int
    body: bytes
    content_type: str = "application/json"
    hang: bool = False
    delay_s: float = 0.0
    reset: bool = False


class App:
    """The request logic, kept apart from the HTTP plumbing so it can be unit-tested."""

    def __init__(self, version: str, knobs: Knobs, clock=time.monotonic) -> None:
        self.version = version
        self.knobs = knobs
        self.clock = clock
        self.started = clock()
        self.rng = random.Random(knobs.seed if knobs.seed is None or not knobs.seed_salt
                                 else f"{knobs.seed}/{knobs.seed_salt}")
        self._rng_lock = threading.Lock()
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests_total", "HTTP requests answered.", ("code", "method", "path"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request.",
            ("method", "path"), buckets=BUCKETS, registry=self.registry,
        )

    def _draw(self) -> float:
        with self._rng_lock:
            return self.rng.random()

    def _uniform(self, a: float, b: float) -> float:
        with self._rng_lock:
            return self.rng.uniform(a, b)

    def uptime(self) -> float:
        return self.clock() - self.started

    def answer(self, path: str) -> Answer:
        """Decide the answer for ``path`` (without query string)."""
        if path == "/ready":
            return self._ready()
        if path == "/metrics":
            return Answer(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)
        if path not in APP_PATHS:
            return Answer(404, _json({"error": "not found", "path": path}))
        k = self.knobs
        if k.hang_rate and self._draw() < k.hang_rate:
            return Answer(0, b"", hang=True)
        if k.reset_rate and self._draw() < k.reset_rate:
            return Answer(0, b"", reset=True)
        delay = 0.0
        if k.latency_ms or k.latency_jitter_ms:
            jitter = self._uniform(-k.latency_jitter_ms, k.latency_jitter_ms) if k.latency_jitter_ms else 0.0
            delay = max(0.0, k.latency_ms + jitter) / 1000.0
        if self.version in BAD_VERSIONS:
            bug = HEALTH_BUG if path == "/health" else STATUS_BUG
            return Answer(500, bug.encode(), "text/plain; charset=utf-8", delay_s=delay)
        if k.error_rate and self._draw() < k.error_rate:
            return Answer(500, _json({"error": "injected failure", "version": self.version}),
                          delay_s=delay)
        if path == "/health":
            body = {"status": "healthy", "version": self.version}
        else:
            body = {"status": "ok", "version": self.version, "uptime_s": round(self.uptime(), 3)}
        return Answer(200, _json(body), delay_s=delay)

    def _ready(self) -> Answer:
        if self.knobs.ready_fail:
            return Answer(503, _json({"ready": False, "reason": "READY_FAIL"}))
        if self.uptime() < self.knobs.slow_start_s:
            return Answer(503, _json({"ready": False, "reason": "starting"}))
        return Answer(200, _json({"ready": True, "version": self.version}))

    def observe(self, method: str, path: str, code: int, seconds: float) -> None:
        """Count an answered request on an application path."""
        label = path if path in APP_PATHS else "other"
        self.requests.labels(str(code), method, label).inc()
        self.duration.labels(method, label).observe(seconds)


RUNS_FILE = ".demoapp-runs"


def count_run(directory: str | os.PathLike[str] = ".") -> int:
    """This run's number (1 for the first) in ``directory``, kept across container restarts."""
    path = os.path.join(directory, RUNS_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            runs = int(f.read().strip() or 0)
    except (OSError, ValueError):
        runs = 0
    runs += 1
    with open(path, "w", encoding="utf-8") as f:
        f.write(str(runs))
    return runs


def crashes_this_run(knobs: Knobs, run: int) -> bool:
    return knobs.crash_after_s > 0 and (knobs.crash_times == 0 or run <= knobs.crash_times)


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _wait_for_client_to_leave(conn: socket.socket, limit_s: float) -> None:
    """Hold a hung request until the client closes its end (bounded by ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([conn], [], [], min(left, 1.0))
        if readable:
            try:
                if not conn.recv(1, socket.MSG_PEEK):
                    return  # orderly close by the client
            except OSError:
                return
            time.sleep(0.05)  # pipelined bytes: keep hanging, without spinning


def make_handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the gateway reuses connections
        # One send per response, without Nagle: headers and body written separately would
        # meet the client's delayed ACK and add ~40 ms to some answers.
        wbufsize = -1
        disable_nagle_algorithm = True

        def version_string(self) -> str:
            return "ripcord-demo-app"

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            self._handle()

        def do_HEAD(self) -> None:  # noqa: N802
            self._handle(send_body=False)

        def _handle(self, send_body: bool = True) -> None:
            start = time.perf_counter()
            path = self.path.split("?", 1)[0]
            ans = app.answer(path)
            if ans.hang:
                _wait_for_client_to_leave(self.connection, HANG_MAX_S)
                self.close_connection = True
                return
            if ans.reset:  # SO_LINGER 0: close() sends a RST, the client sees a reset connection
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            if ans.delay_s:
                time.sleep(ans.delay_s)
            self.send_response(ans.code)
            self.send_header("Content-Type", ans.content_type)
            self.send_header("Content-Length", str(len(ans.body)))
            self.send_header("X-App-Version", app.version)
            self.end_headers()
            if send_body:
                self.wfile.write(ans.body)
            if path not in ("/metrics", "/ready"):
                app.observe(self.command, path, ans.code, time.perf_counter() - start)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # one line per request would cost more than the request

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sandbox.demoapp", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--version", default=os.environ.get("APP_VERSION", "1.0.0"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    knobs = Knobs.from_env(os.environ)
    app = App(args.version, knobs)
    handler = make_handler(app)
    probe = Server((args.host, knobs.probe_port), handler) if knobs.probe_port else None
    # REFUSE_TRAFFIC: nothing listens on the traffic port, the kernel refuses its connections
    server = probe if knobs.refuse_traffic and probe is not None else Server((args.host, args.port), handler)
    if probe is not None and probe is not server:
        threading.Thread(target=probe.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True).start()

    drain_s = float(os.environ.get("SHUTDOWN_DELAY_S", "2"))

    def stop(signum: int, _frame: object) -> None:
        # Keep answering for a moment after SIGTERM, as a real app with a preStop sleep does:
        # the data plane stops sending new requests once it sees the pod terminating.
        # shutdown() blocks until serve_forever returns: call it from another thread.
        delay = drain_s if signum == signal.SIGTERM else 0.0

        def shutdown() -> None:
            if probe is not None and probe is not server:
                probe.shutdown()
            server.shutdown()

        timer = threading.Timer(delay, shutdown)
        timer.daemon = True
        timer.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if crashes_this_run(knobs, count_run() if knobs.crash_times else 1):
        def crash() -> None:
            print(f"demoapp {args.version}: crashing after {knobs.crash_after_s}s (CRASH_AFTER_S)",
                  file=sys.stderr, flush=True)
            os._exit(1)
        timer = threading.Timer(knobs.crash_after_s, crash)
        timer.daemon = True
        timer.start()
    ports = ([] if knobs.refuse_traffic else [args.port]) + ([knobs.probe_port] if knobs.probe_port else [])
    print(f"demoapp {args.version} listening on {args.host}:{', '.join(map(str, ports))}"
          + (f" (traffic port {args.port} refused: REFUSE_TRAFFIC)" if knobs.refuse_traffic else ""),
          file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.5)
    server.server_close()
    if probe is not None and probe is not server:
        probe.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
