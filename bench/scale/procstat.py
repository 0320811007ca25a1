"""A process's CPU time and resident memory, from /proc (Linux)."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcSample:
    at: float  # monotonic seconds
    cpu_s: float  # user + system CPU time so far
    rss_bytes: int


def parse_cpu_seconds(stat: str, ticks: int = CLOCK_TICKS) -> float:
    """utime + stime of a ``/proc/<pid>/stat`` line, in seconds (the name may hold spaces)."""
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / ticks  # fields 14 and 15 of stat(5)


def parse_rss_bytes(status: str) -> int:
    """``VmRSS`` of a ``/proc/<pid>/status`` text."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            assert unit == "kB", line
            return int(value) * 1024
    raise ValueError("no VmRSS line (a zombie process?)")


def sample(pid: int) -> ProcSample:
    at = time.monotonic()
    return ProcSample(at, parse_cpu_seconds(Path(f"/proc/{pid}/stat").read_text()),
                      parse_rss_bytes(Path(f"/proc/{pid}/status").read_text()))


def cpu_cores(a: ProcSample, b: ProcSample) -> float:
    """Mean CPU use between two samples, in cores."""
    return (b.cpu_s - a.cpu_s) / (b.at - a.at) if b.at > a.at else 0.0


@dataclass
class RssWatch:
    """Samples a process's RSS every ``every`` seconds in a daemon thread; ``peak`` and ``mean``."""

    pid: int
    every: float = 2.0
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: Optional[threading.Thread] = None

    def start(self) -> "RssWatch":
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"rss-{self.pid}")
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append(sample(self.pid).rss_bytes)
            except (OSError, ValueError):
                return
            self._stop.wait(self.every)

    def stop(self) -> "RssWatch":
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.every + 1)
        return self

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0
