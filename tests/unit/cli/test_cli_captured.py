"""The plugin's views and reports on the Release objects captured from sandbox runs."""
from __future__ import annotations

import datetime as dt

import pytest

from ripcord.cli import outcome, postmortem, render
from tests.unit.gitops.captures import category, load_all

CAPTURED = load_all()
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("label", sorted(CAPTURED))
def test_views_render_every_captured_release(label: str) -> None:
    obj = CAPTURED[label]
    status = obj.get("status") or {}
    view = render.release_view(obj, [], NOW)
    if status.get("phase"):
        assert f"Phase:       {status['phase']}" in view
    table = render.history_table(obj, NOW)
    for h in status.get("history") or []:
        shown = render.rollout_state(obj, h)[0]  # the live state for the rollout in flight
        assert shown == h["outcome"] or (h["outcome"] == "Progressing" and h["id"] == status["rollout"]["id"])
        assert any(line.split()[:3] == [str(h["id"]), h["version"], shown] for line in table.splitlines())
    if category(label) == "holding":
        assert "Holding" in table and "(held: no verdict)" in table and "(running)" not in table
    if category(label) == "paused":
        assert "Paused" in table and "(paused)" in table


@pytest.mark.parametrize("label", sorted(CAPTURED))
def test_watch_verdict_of_every_captured_release(label: str) -> None:
    want = {"created": None, "progressing": None, "paused": None, "holding": None,
            "promoted": outcome.EXIT_OK, "rolled-back": outcome.EXIT_ROLLED_BACK,
            "aborted": outcome.EXIT_ROLLED_BACK, "invalid-spec": outcome.EXIT_INVALID_SPEC}[category(label)]
    ended = outcome.watch_result(CAPTURED[label])
    assert (ended.code if ended else None) == want


@pytest.mark.parametrize("label", sorted(lbl for lbl in CAPTURED if category(lbl) in ("rolled-back", "aborted")))
def test_postmortem_of_captured_rollbacks_names_what_stopped_them(label: str) -> None:
    obj = CAPTURED[label]
    entry = postmortem.pick_rollout(obj)
    text = postmortem.build(obj, [], generated_at=NOW)
    assert text.startswith("# Post-Mortem Report")
    reason = entry["reason"]
    row = next(line for line in text.splitlines() if line.startswith(f"| {reason['kind']} |"))
    if reason.get("metric"):
        assert f"| {reason['metric']} |" in row
    assert "🔴 DETECTED" in text or "🛑 ABORTED" in text
    assert "✓ RESTORED" in text
