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


def _stopped(pid: int) -> bool:
    """Every thread of ``pid`` is stopped (state T): a group stop reaches each thread on its own time."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return True
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            continue
        if state not in ("T", "t"):
            return False
    return True


def stop_process(pid: int, timeout: float = 10.0) -> None:
    """SIGSTOP ``pid`` and return once every one of its threads has stopped (a thread still running
    could answer one more request after ``kill`` returns)."""
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while not _stopped(pid):
        if time.monotonic() > deadline:
            raise SandboxError(f"process {pid} not stopped {timeout:.0f}s after SIGSTOP")
        time.sleep(0.01)


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
    try:
        stop_process(pid)
        yield pid
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
