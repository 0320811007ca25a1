"""`get` and `history` rendering on Release objects the engine produced."""
from __future__ import annotations

import datetime as dt

from ripcord.cli import render
from ripcord.cli.render import WorkloadPods
from tests.unit.cli import engine_runs as runs

PODS = [WorkloadPods("web-b", 1, 1, 1, "2.0.0"), WorkloadPods("web-a", 4, 4, 4, "1.0.0")]


def _lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip().startswith(prefix)]


def test_live_view_of_a_progressing_rollout() -> None:
    run = runs.progressing()
    text = render.release_view(run.release(), PODS, run.now)
    assert "Phase:       Progressing" in text
    assert _lines(text, "Rollout:")[0].startswith("Rollout:     #2 Progressing, step 1/2")
    assert "Steps:       20% ◀ › 50% › promote" in text
    assert "Weight:      asked 20%, effective 20%" in text
    assert "Ready=Unknown (Progressing)  Reconciling=True (Progressing)  Stalled=False (Progressing)" in text
    # analysis per metric, in natural units: ratios as percent, latency in ms
    error_row = _lines(text, "error-rate")[0].split()
    assert error_row[:4] == ["error-rate", "Pass", "0.1%", "0.2%"]
    latency_row = _lines(text, "latency")[0].split()
    assert latency_row[:6] == ["latency", "Pass", "42", "ms", "40", "ms"]
    # pods per workload, stable first, roles from status
    assert _lines(text, "stable")[0].split() == ["stable", "web-a", "1.0.0", "4/4"]
    assert _lines(text, "canary")[0].split() == ["canary", "web-b", "2.0.0", "1/1"]


def test_live_view_flags_a_pause_and_a_hold() -> None:
    paused = runs.paused()
    text = render.release_view(paused.release(), PODS, paused.now)
    assert "[paused]" in _lines(text, "Rollout:")[0]
    assert "Reconciling=True (Paused)" in text

    held = runs.held()
    text = render.release_view(held.release(), PODS, held.now)
    assert "[held]" in _lines(text, "Rollout:")[0]
    assert _lines(text, "NoVerdict: MaxDurationReached")


def test_live_view_of_a_rolled_back_release_names_the_reason() -> None:
    run = runs.rolled_back_on_metric()
    text = render.release_view(run.release(), [WorkloadPods("web-a", 4, 4, 4, "1.0.0"),
                                               WorkloadPods("web-b", 0, 0, 0, "2.0.0")], run.now)
    assert "Phase:       RolledBack" in text
    assert _lines(text, "Last:")[0].startswith("Last:        #2 2.0.0 rolled back (Metric: error-rate = 34% breached")
    assert "Stalled=True (RolledBack)" in text
    assert _lines(text, "idle")[0].split() == ["idle", "web-b", "2.0.0", "0/0"]
    assert "Last analysis (of the last rollout): Fail" in text


def test_live_view_says_when_the_spec_is_not_observed_yet() -> None:
    run = runs.promoted()
    obj = run.release()
    obj["metadata"]["generation"] += 1
    text = render.release_view(obj, [], run.now)
    assert f"Generation:  {obj['metadata']['generation']} not yet observed" in text


def test_views_tolerate_a_release_with_no_status() -> None:
    obj = {"metadata": {"name": "x", "namespace": "y", "generation": 1}, "spec": {"version": "1"}}
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert "Phase:       -" in render.release_view(obj, [], now)
    assert render.history_table(obj, now) == "No rollouts recorded yet."
    assert render.progress_line(obj) == "Pending | generation 1 not yet observed"
    assert "x" in render.releases_table([obj], now)


def test_history_table_lists_rollouts_newest_first_with_outcome_reach_and_reason() -> None:
    run = runs.rolled_back_at_second_step()
    lines = render.history_table(run.release(), run.now).splitlines()
    assert lines[0].split() == ["ID", "VERSION", "OUTCOME", "STARTED", "(UTC)", "DURATION", "STEP", "WEIGHT",
                                "REASON"]
    newest = lines[1].split()
    assert newest[:3] == ["2", "2.0.0", "RolledBack"]
    assert newest[3:5] == ["2026-01-29", "14:30:02"]
    assert newest[5] == "19s"
    assert newest[6:8] == ["2", "50%"]
    assert " ".join(newest[8:]).startswith("Metric: error-rate = 34% breached ratio <= 1.1")
    assert lines[2].split()[:3] == ["1", "1.0.0", "Installed"]


def test_history_marks_the_running_rollout() -> None:
    run = runs.progressing()
    assert "(running)" in render.history_table(run.release(), run.now).splitlines()[1]


def test_history_shows_a_held_rollout_as_holding_not_running() -> None:
    run = runs.held()
    row = render.history_table(run.release(), run.now).splitlines()[1]
    assert row.split()[:3] == ["2", "2.0.0", "Holding"]
    assert "(held: no verdict)" in row and "(running)" not in row
    assert "NoVerdict: no verdict after" in row


def test_history_says_what_superseded_a_rollout() -> None:
    run = runs.superseded()
    lines = render.history_table(run.release(), run.now).splitlines()
    old = next(line for line in lines if line.split()[:3] == ["2", "2.0.0", "Superseded"])
    assert "Superseded: a new template (rollout 3, 2.0.1) replaced it at 20%" in old


def test_list_view_with_namespaces() -> None:
    run = runs.progressing()
    text = render.releases_table([run.release()], run.now, namespaces=True)
    header, row = text.splitlines()
    assert header.split()[:3] == ["NAMESPACE", "NAME", "READY"]
    assert row.split() == ["shop", "web", "Unknown", "Progressing", "1.0.0", "2.0.0", "20%", "1/2", "Installed",
                           row.split()[-1]]


def test_progress_line_changes_only_when_the_rollout_does() -> None:
    """CI logs get a line per change, so the line must not contain ages or clocks."""
    run = runs.progressing()
    first = render.progress_line(run.release())
    run.now += dt.timedelta(seconds=30)
    assert render.progress_line(run.release()) == first
    assert first.startswith("Progressing | step 1/2 | weight 20% (effective 20%) | analysis Pass")


def test_table_pads_columns_and_shows_missing_cells_as_dashes() -> None:
    text = render.table(["A", "LONGER"], [["x", None], ["yyyy", "z"]])
    assert text.splitlines() == ["A      LONGER", "x      -", "yyyy   z"]


def test_durations_are_compact_and_exact_to_the_second() -> None:
    assert [render.duration(s) for s in (0, 45, 60, 125, 3600 + 120, 90000)] == \
        ["0s", "45s", "1m00s", "2m05s", "1h02m", "1d01h"]
    assert render.duration(None) == "-"


def test_metric_values_in_natural_units() -> None:
    assert render.metric_value(0.034, "error-rate") == "3.4%"
    assert render.metric_value(0.25, "latency") == "250 ms"
    assert render.metric_value(1.5, "latency") == "1.5 s"
    assert render.metric_value(12.0, "custom") == "12"
    assert render.metric_value(None, "latency") == "-"


def test_absolute_bounds_are_shown_in_the_values_unit() -> None:
    assert render.bound_text("<= 0.05", "error-rate") == "<= 5%"
    assert render.bound_text("<= 0.5", "latency") == "<= 500 ms"
    assert render.bound_text("ratio <= 1.1 (alpha 0.01)", "error-rate") == "ratio <= 1.1 (alpha 0.01)"
    assert render.bound_text("<= 3", "custom") == "<= 3"
    assert render.bound_text(None, "latency") == "-"
