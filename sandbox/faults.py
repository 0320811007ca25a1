"""Faults on a running sandbox's own components, for benchmarks: an API server restart, a hung Prometheus.

Each acts on the process recorded in the component's pid file (never by name), and each
wait is bounded. ``frozen_prometheus`` always resumes the process, whatever happens inside.
"""
from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Iterator

from . import cluster, prometheus
from .layout import Paths
from .proc import SandboxError, running


def restart_apiserver(paths: Paths | None = None, *, down_s: float = 0.0, timeout: float = 90.0) -> float:
    """Stop the API server (SIGTERM, then SIGKILL), keep it down ``down_s`` seconds, start it again
    and wait until it is ready. Returns the seconds it was unreachable."""
    paths = paths or Paths.default()
    comp = cluster.apiserver(paths, cluster.ensure_tokens(paths))
    t0 = time.monotonic()
    comp.stop(paths.run)
    if down_s > 0:
        time.sleep(down_s)
    comp.start(paths.run, paths.logs)
    deadline = time.monotonic() + timeout
    while not comp.healthy(paths.run):
        if time.monotonic() > deadline:
            raise SandboxError(f"kube-apiserver not ready {timeout:.0f}s after its restart")
        time.sleep(0.2)
    return time.monotonic() - t0


def _prometheus_pid(paths: Paths) -> int:
    rec = running(prometheus.component(paths).pid_file(paths.run))
    if rec is None:
        raise SandboxError("the sandbox's Prometheus is not running")
    return rec.pid


@contextlib.contextmanager
def frozen_prometheus(paths: Paths | None = None) -> Iterator[int]:
    """SIGSTOP the sandbox's Prometheus for the block: its port accepts connections, nothing answers."""
    paths = paths or Paths.default()
    pid = _prometheus_pid(paths)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
