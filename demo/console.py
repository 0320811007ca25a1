"""Output for the demo: permanent lines, one live status line, and bounded waits that show it.

On a terminal the status line is rewritten in place (``\\r``); otherwise (CI logs, pipes)
it is printed as a plain line when it changes, at most every ``plain_every_s`` seconds, so
a log shows progress without a line per poll.
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import Callable, Optional, Protocol, TextIO, TypeVar

from kubernetes.client.rest import ApiException

T = TypeVar("T")


class DemoError(RuntimeError):
    """A step of the demo could not be done; the message says which and why."""


class Console:
    def __init__(self, stream: TextIO = sys.stdout, tty: Optional[bool] = None, plain_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.plain_every_s = plain_every_s
        self.clock = clock
        self._shown = ""  # what the live line shows now (tty)
        self._last_plain: tuple[float, str] = (-1e9, "")

    def say(self, text: str = "") -> None:
        """A permanent line (the live line, if any, is cleared first)."""
        self._clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def status(self, text: str) -> None:
        if self.tty:
            width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
            line = text if len(text) <= width else text[: width - 1] + "…"
            self.stream.write("\r" + line + " " * max(0, len(self._shown) - len(line)))
            self.stream.flush()
            self._shown = line
            return
        now = self.clock()
        last_at, last_text = self._last_plain
        if text != last_text and now - last_at >= self.plain_every_s:
            self.stream.write(f"  … {text}\n")
            self.stream.flush()
            self._last_plain = (now, text)

    def _clear(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\r" + " " * len(self._shown) + "\r")
            self._shown = ""


class Watch(Protocol):
    """Something to wait for: ``poll`` acts if it must and says whether it is done."""

    def poll(self) -> bool: ...

    def describe(self) -> str: ...


def wait(console: Console, what: str, check: Callable[[], Optional[T]], describe: Callable[[], str],
         timeout_s: float, poll_s: float = 0.5, guard: Optional[Callable[[], None]] = None) -> T:
    """Poll ``check`` until it returns something truthy, showing ``describe()``; DemoError after ``timeout_s``.

    A transient API error counts as "not yet" and is shown; it is the last word on timeout.
    ``guard`` is called before each poll and raises DemoError when waiting is pointless
    (e.g. the operator process exited).
    """
    start = console.clock()
    last_error = ""
    while True:
        if guard is not None:
            guard()
        try:
            value = check()
            last_error = ""
        except (ApiException, OSError) as e:  # includes requests' ConnectionError
            value, last_error = None, f"{type(e).__name__}: {getattr(e, 'reason', None) or e}"
        if value:
            return value
        elapsed = console.clock() - start
        state = last_error or _safe(describe)
        if elapsed > timeout_s:
            raise DemoError(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {state})")
        console.status(f"{what}: {state} [{elapsed:.0f}/{timeout_s:.0f} s]")
        time.sleep(poll_s)


def wait_all(console: Console, what: str, watches: dict[str, Watch], timeout_s: float, poll_s: float = 0.5,
             guard: Optional[Callable[[], None]] = None,
             on_done: Optional[Callable[[str], None]] = None) -> None:
    """Poll several watches side by side until each is done; one status line shows them all.

    ``on_done(name)`` is called as each one finishes (to print what happened when it happened).
    """
    pending = dict(watches)

    def check() -> bool:
        for name, w in list(pending.items()):
            if w.poll():
                del pending[name]
                if on_done is not None:
                    on_done(name)
        return not pending

    wait(console, what, check, lambda: " | ".join(f"{n}: {_safe(w.describe)}" for n, w in pending.items()),
         timeout_s, poll_s, guard)


def _safe(describe: Callable[[], str]) -> str:
    try:
        return describe()
    except Exception as e:  # noqa: BLE001 - a status line must never break the wait
        return f"({type(e).__name__})"
