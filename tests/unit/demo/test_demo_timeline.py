"""The post-mortem-style timeline table from a Release's status.history."""
from __future__ import annotations

from typing import Any

import pytest

from demo.timeline import Moment, asked_weights, client_moments, history_moments, parse_time, render

ROLLED_BACK: dict[str, Any] = {
    "id": 2, "version": "2.0.0", "outcome": "RolledBack", "startedAt": "2026-01-29T14:30:00.00Z",
    "reason": {"kind": "Metric", "metric": "error-rate", "value": 1.0, "bound": "<= 0.02", "weight": 5,
               "at": "2026-01-29T14:30:07.25Z", "message": "error-rate = 1 breached <= 0.02"},
    "timeline": [
        {"at": "2026-01-29T14:30:00.00Z", "event": "Started", "weight": 0,
         "message": "rollout 2: 1.0.0 -> 2.0.0 in slot b, steps [5, 25, 50]"},
        {"at": "2026-01-29T14:30:03.50Z", "event": "StepStarted", "weight": 5, "message": "step 1: canary weight 5%"},
        {"at": "2026-01-29T14:30:04.75Z", "event": "WeightServed", "weight": 5,
         "message": "data plane serves 5% (asked 5%)"},
        {"at": "2026-01-29T14:30:07.25Z", "event": "RollingBack", "weight": 0, "message": "error-rate = 1 breached"},
        {"at": "2026-01-29T14:30:08.90Z", "event": "RolledBack", "weight": 0,
         "message": "2.0.0 rolledback: the data plane serves the canary 0%"},
    ],
}
PROMOTED: dict[str, Any] = {
    "id": 3, "version": "2.0.1", "outcome": "Promoted", "startedAt": "2026-01-29T14:31:00Z",
    "timeline": [
        {"at": "2026-01-29T14:31:00Z", "event": "Started", "weight": 0, "message": "rollout 3: 1.0.0 -> 2.0.1"},
        {"at": "2026-01-29T14:31:05Z", "event": "WeightServed", "weight": 5, "message": "data plane serves 5%"},
        {"at": "2026-01-29T14:31:30Z", "event": "Promoted", "weight": 100, "message": "2.0.1 promoted"},
    ],
}
INSTALLED: dict[str, Any] = {"id": 1, "version": "1.0.0", "outcome": "Promoted", "startedAt": "2026-01-29T14:29:00Z",
                             "timeline": [{"at": "2026-01-29T14:29:00Z", "event": "Installed", "message": "x"}]}


def test_marks_follow_the_post_mortem_and_the_rollouts_outcome() -> None:
    moments = history_moments([PROMOTED, ROLLED_BACK, INSTALLED], versions=["2.0.0", "2.0.1"])
    by = {(m.event.split(":")[0], m.status) for m in moments}
    assert ("Version 2.0.0 released through Ripcord (1.0.0 -> 2.0.0 in slot b, steps [5, 25, 50])",
            "🔄 IN PROGRESS") in by
    served = [m.status for m in sorted(moments, key=lambda m: m.at) if m.event.startswith("Data plane serves")]
    assert served == ["⚠️ DEGRADED", "🔄 IN PROGRESS"]  # the faulty canary degraded users; the fix did not
    detected = next(m for m in moments if m.status == "🔴 DETECTED")
    assert detected.event == ("Ripcord rolls 2.0.0 back on its own: error-rate = 100% breached <= 2% "
                              "at canary weight 5%")
    assert detected.at == parse_time("2026-01-29T14:30:07.25Z")
    assert {m.status for m in moments} >= {"✓ RESTORED", "✓ PROMOTED"}
    assert not any("1.0.0 installed" in m.event or m.status == "✓ INSTALLED" for m in moments)


def test_render_sorts_and_shows_utc_time_relative_to_the_release() -> None:
    origin = parse_time("2026-01-29T14:30:00Z")
    moments = history_moments([ROLLED_BACK]) + client_moments(origin + 4.0, origin + 8.0, faulty="2.0.0",
                                                              stable="1.0.0")
    text = render(moments, origin=origin)
    lines = text.splitlines()
    assert lines[0].startswith("| Time (UTC)") and lines[0].rstrip().endswith("| Status |")
    assert lines[1].startswith("|---")
    body = lines[2:]
    assert len(body) == 7
    assert body[0].startswith("| 14:30:00.0 (+0.0 s)")
    assert "Clients: first request answered by 2.0.0" in body[2] and body[2].endswith("| ✗ FAILURE |")
    assert body[3].startswith("| 14:30:04.8 (+4.8 s)") and body[3].endswith("| ⚠️ DEGRADED |")
    assert body[4].startswith("| 14:30:07.2 (+7.2 s)") or body[4].startswith("| 14:30:07.3 (+7.2 s)")
    assert "🔴 DETECTED" in body[4]
    assert body[-1].endswith("| ✓ RESTORED |")
    assert all(line.count("|") == 4 for line in lines)


def test_long_or_piped_event_text_is_clipped_to_one_cell() -> None:
    text = render([Moment(0.0, "a | b " + "x" * 300, "·")], max_event=40)
    cells = text.splitlines()[2].split("|")
    assert len(cells) == 5 and len(cells[2].strip()) == 40 and cells[2].strip().endswith("…")


def test_asked_weights_are_steps_from_the_origin() -> None:
    origin = parse_time("2026-01-29T14:30:00Z")
    got = asked_weights(ROLLED_BACK, origin)
    assert [w for _, w in got] == [0, 5, 5, 0, 0]
    assert [x for x, _ in got] == pytest.approx([0.0, 3.5, 4.75, 7.25, 8.9])


def test_a_gate_rollback_says_no_user_request_reached_the_version() -> None:
    from demo.timeline import rollback_text
    text = rollback_text("2.0.0", {"kind": "Gate", "metric": "GET /health", "value": 500.0, "bound": "2xx",
                                   "message": "pre-traffic gate: GET /health answered 500 in 3 ms (expected 2xx)"})
    assert text == ("Ripcord rolls 2.0.0 back before any user request reached it (pre-traffic gate): "
                    "GET /health answered 500 in 3 ms (expected 2xx)")
