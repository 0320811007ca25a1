"""The live status line and the bounded waits of the demo."""
from __future__ import annotations

import io

import pytest

from demo.console import Console, DemoError, wait, wait_all


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    out = io.StringIO()
    c = Console(out, tty=True)
    c.status("waiting: 3 s")
    c.status("waiting: 2 s")
    c.say("done")
    text = out.getvalue()
    assert "\n" not in text.split("done")[0], "status updates stay on one line"
    assert text.count("\r") >= 3 and text.endswith("done\n")


def test_a_log_gets_plain_lines_only_when_the_status_changes_and_not_too_often() -> None:
    out, clock = io.StringIO(), Clock()
    c = Console(out, tty=False, plain_every_s=5, clock=clock)
    for t, text in [(0, "a"), (1, "b"), (2, "b"), (6, "b"), (7, "c"), (12, "c"), (13, "d")]:
        clock.t = t
        c.status(text)
    assert out.getvalue().splitlines() == ["  … a", "  … b", "  … c"]  # b at 6 s, c at 12 s; d too soon
    assert "\r" not in out.getvalue()


def test_wait_returns_the_value_and_gives_up_with_what_it_waited_for() -> None:
    c = Console(io.StringIO(), tty=False)
    values = iter([None, None, "ready"])
    assert wait(c, "thing", lambda: next(values), lambda: "not yet", timeout_s=5, poll_s=0.001) == "ready"
    with pytest.raises(DemoError, match=r"timed out after 0 s waiting for other thing \(last: still pending\)"):
        wait(c, "other thing", lambda: None, lambda: "still pending", timeout_s=0.01, poll_s=0.001)


def test_wait_all_reports_each_watch_as_it_finishes_and_a_guard_stops_the_wait() -> None:
    class Countdown:
        def __init__(self, n: int) -> None:
            self.n = n

        def poll(self) -> bool:
            self.n -= 1
            return self.n <= 0

        def describe(self) -> str:
            return f"{self.n} left"

    done: list[str] = []
    wait_all(Console(io.StringIO(), tty=False), "both", {"fast": Countdown(1), "slow": Countdown(3)},
             timeout_s=5, poll_s=0.001, on_done=done.append)
    assert done == ["fast", "slow"]

    def guard() -> None:
        raise DemoError("the operator exited")

    with pytest.raises(DemoError, match="operator exited"):
        wait_all(Console(io.StringIO(), tty=False), "x", {"slow": Countdown(99)}, timeout_s=5, guard=guard)
