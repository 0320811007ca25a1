"""Start, watch and stop the sandbox's long-running processes by pid file.

A pid file holds the pid and the process start time (from /proc), so a recycled pid
is never mistaken for ours and never killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence


class SandboxError(RuntimeError):
    """A sandbox component could not be started or is unhealthy."""


# Popen objects of children this process started; kept so they are not reaped
# behind our back and do not warn when garbage-collected.
_CHILDREN: list[subprocess.Popen] = []


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]  # field 22 of stat: starttime


def _reap(pid: int) -> None:
    for p in _CHILDREN:
        if p.pid == pid:
            p.poll()
            return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_time: str

    def alive(self) -> bool:
        _reap(self.pid)
        return _start_time(self.pid) == self.start_time


def read_pid(path: Path) -> PidRecord | None:
    try:
        pid, start = path.read_text().split()
        return PidRecord(int(pid), start)
    except (OSError, ValueError):
        return None


def write_pid(path: Path, pid: int) -> PidRecord:
    start = _start_time(pid) or "0"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{pid} {start}\n")
    tmp.replace(path)
    return PidRecord(pid, start)


def running(path: Path) -> PidRecord | None:
    """The live process recorded in ``path``, if any."""
    rec = read_pid(path)
    return rec if rec and rec.alive() else None


def terminate(rec: PidRecord, timeout: float, group: bool = True) -> None:
    """SIGTERM (the process group when it leads one), SIGKILL after ``timeout`` seconds."""

    def send(sig: int) -> None:
        try:
            if group and os.getpgid(rec.pid) == rec.pid:
                os.killpg(rec.pid, sig)
            else:
                os.kill(rec.pid, sig)
        except ProcessLookupError:
            pass

    if not rec.alive():
        return
    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while rec.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if rec.alive():
        send(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while rec.alive() and time.monotonic() < deadline:
            time.sleep(0.05)


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(frozen=True)
class Component:
    """One long-running sandbox process and how to tell that it is healthy."""

    name: str
    argv: Sequence[str]
    health: Callable[[], bool]
    address: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    start_timeout: float = 60.0
    stop_timeout: float = 15.0

    def pid_file(self, run_dir: Path) -> Path:
        return run_dir / f"{self.name}.pid"

    def log_file(self, log_dir: Path) -> Path:
        return log_dir / f"{self.name}.log"

    def start(self, run_dir: Path, log_dir: Path) -> bool:
        """Start unless already running; True if this call started it."""
        if running(self.pid_file(run_dir)):
            return False
        log_path = self.log_file(log_dir)
        with open(log_path, "ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {' '.join(self.argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                list(self.argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, **self.env}, cwd=self.cwd, close_fds=True,
            )
        _CHILDREN.append(proc)
        write_pid(self.pid_file(run_dir), proc.pid)
        return True

    def wait_healthy(self, run_dir: Path, log_dir: Path) -> float:
        """Block until healthy (bounded by ``start_timeout``); returns seconds waited."""
        t0 = time.monotonic()
        deadline = t0 + self.start_timeout
        while True:
            if not running(self.pid_file(run_dir)):
                raise SandboxError(f"{self.name} exited; log {self.log_file(log_dir)}:\n"
                                   f"{log_tail(self.log_file(log_dir))}")
            if _safe(self.health):
                return time.monotonic() - t0
            if time.monotonic() > deadline:
                raise SandboxError(f"{self.name} not healthy after {self.start_timeout:.0f}s; "
                                   f"log {self.log_file(log_dir)}:\n{log_tail(self.log_file(log_dir))}")
            time.sleep(0.2)

    def stop(self, run_dir: Path) -> bool:
        """Stop it if running; True if something was stopped."""
        path = self.pid_file(run_dir)
        rec = running(path)
        if rec:
            terminate(rec, self.stop_timeout)
        path.unlink(missing_ok=True)
        return rec is not None

    def healthy(self, run_dir: Path) -> bool:
        return running(self.pid_file(run_dir)) is not None and _safe(self.health)


def _safe(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:
        return False
