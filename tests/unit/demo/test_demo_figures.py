"""The demo's figures from gateway record rows: window, detection, restore, failed fraction."""
from __future__ import annotations

from typing import Any

import pytest

from demo.figures import (SUMMARY_KEYS, Window, backend_failed, first_answer_t, goals, restored_t, run_figures,
                          series, summary_json, window_length)

T0 = 1_800_000_000


def row(t: int, **by_version: int) -> dict[str, Any]:
    """A second of the record: ``by_version`` counts; everything not on 1.0.0 failed (as 2.0.0 does)."""
    versions = {(k[1:].replace("_", ".") if k.startswith("v") else k): v for k, v in by_version.items()}
    failed = {v: n for v, n in versions.items() if v != "1.0.0"}
    total = sum(versions.values())
    return {"t": t, "total": total, "ok": total - sum(failed.values()), "failed": sum(failed.values()),
            "by_version": versions, "failed_by_version": failed}


def canary_incident() -> list[dict[str, Any]]:
    """1.0.0 at 50 rps; 2.0.0 answers 2 requests a second from T0+5 to T0+8; 1.0.0 alone from T0+9."""
    rows = [row(T0 + i, v1_0_0=50) for i in range(-3, 5)]
    rows += [row(T0 + i, v1_0_0=48, v2_0_0=2) for i in range(5, 9)]
    rows += [row(T0 + i, v1_0_0=50) for i in range(9, 40)]
    return rows


def test_detection_and_restore_count_from_the_faulty_versions_first_answer() -> None:
    fig = run_figures(canary_incident(), Window(T0 + 0.4, T0 + 30.4), stable="1.0.0", faulty="2.0.0",
                      detected_at=T0 + 7.25)
    assert fig.first_faulty_t == T0 + 5
    assert fig.detect_s == pytest.approx(2.25)
    assert fig.restored_t == T0 + 9  # the first second after which every request is on 1.0.0
    assert fig.restore_s == 4


def test_the_window_starts_with_the_release_second_and_has_a_fixed_length() -> None:
    w = Window(T0 + 0.4, T0 + 30.4)
    rows = w.rows(canary_incident())
    assert [r["t"] for r in rows] == list(range(T0, T0 + 31))  # 31 row-seconds touch a 30 s window
    fig = run_figures(canary_incident(), w, stable="1.0.0", faulty="2.0.0", detected_at=None)
    assert fig.total == 31 * 50
    assert fig.failed == fig.faulty_answered == fig.faulty_failed == 8
    assert fig.failed_fraction == pytest.approx(8 / (31 * 50))
    assert fig.detect_s is None


def test_window_length_is_the_later_detection_plus_the_tail() -> None:
    assert window_length([4.2, 47.5], 60) == pytest.approx(107.5)
    assert window_length([None, 12.0], 20) == 32
    assert window_length([None, None], 20) == 20


def test_not_restored_when_the_window_ends_on_the_faulty_version() -> None:
    rows = [row(T0, v1_0_0=50)] + [row(T0 + i, v2_0_0=50) for i in range(1, 10)]
    fig = run_figures(rows, Window(T0, T0 + 10), stable="1.0.0", faulty="2.0.0", detected_at=T0 + 3)
    assert fig.restored_t is None and fig.restore_s is None
    assert fig.failed_fraction == pytest.approx(450 / 500)


def test_a_failure_without_a_version_still_blocks_the_restore() -> None:
    """A refused connection (503, no app answered: version "none") is not an answer from 1.0.0."""
    rows = [row(T0, v2_0_0=50), row(T0 + 1, v1_0_0=49, none=1), row(T0 + 2, v1_0_0=50), row(T0 + 3, v1_0_0=50)]
    assert restored_t(rows, "1.0.0", after=T0) == T0 + 2


def test_empty_seconds_do_not_break_the_restore_and_no_faulty_answer_gives_none() -> None:
    rows = [row(T0, v2_0_0=5), {"t": T0 + 1, "total": 0, "ok": 0, "failed": 0, "by_version": {}},
            row(T0 + 2, v1_0_0=50)]
    assert restored_t(rows, "1.0.0", after=T0) == T0 + 1
    assert first_answer_t([row(T0, v1_0_0=5)], "2.0.0") is None
    fig = run_figures([row(T0, v1_0_0=5)], Window(T0, T0 + 5), stable="1.0.0", faulty="2.0.0", detected_at=T0 + 1)
    assert fig.detect_s is None and fig.restore_s is None and fig.failed_fraction == 0


def test_series_are_shares_per_second_relative_to_the_release() -> None:
    pts = series(canary_incident(), T0 + 0.5, "2.0.0", start=-1, end=6)
    assert [p.x for p in pts] == [-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    assert pts[-1].faulty_share == pytest.approx(4.0) and pts[-1].error_rate == pytest.approx(4.0)
    assert pts[0].faulty_share == 0


def test_summary_has_every_key_rounded_and_goals_judge_the_ripcord_run() -> None:
    good = run_figures(canary_incident(), Window(T0, T0 + 30), stable="1.0.0", faulty="2.0.0", detected_at=T0 + 7.26)
    bad = run_figures([row(T0 + i, v2_0_0=50) for i in range(30)], Window(T0, T0 + 30), stable="1.0.0",
                      faulty="2.0.0", detected_at=T0 + 47.0)
    out = summary_json(good, bad, promoted_version="2.0.1", provider="replicas")
    assert tuple(out) == SUMMARY_KEYS
    assert out["ripcord_detect_s"] == 2.3 and out["ripcord_restore_s"] == 4.0
    assert out["baseline_restore_s"] is None and out["baseline_failed_fraction"] == 1.0
    assert out["ripcord_failed_fraction"] == round(8 / 1500, 5)
    assert [g.met for g in goals(good)] == [True, True, True]
    assert [g.met for g in goals(bad)] == [False, False, False]


def test_canary_failures_no_pod_answered_count_against_the_canary_backend() -> None:
    """Issue 16: the canary's pods crashed; the gateway answered its share with 503 UH (no
    healthy upstream) and refused connections with 503 UF. No version answered them, yet
    they failed on the canary's backend, and the demo counts them there."""
    rows = canary_incident()
    for r in rows[8:12]:  # T0+5 .. T0+8: 2.0.0 answers 2, and 3 more are refused or find no pod
        r.update(total=r["total"] + 3, failed=r["failed"] + 3,
                 failed_by_version={**r["failed_by_version"], "none": 3},
                 failed_by_backend={"web-b": 2 + 3})
    fig = run_figures(rows, Window(T0 + 0.4, T0 + 30.4), stable="1.0.0", faulty="2.0.0", detected_at=T0 + 7.25,
                      canary_backend="web-b")
    assert fig.faulty_failed == 8  # answered by 2.0.0
    assert fig.canary_failed == 8 + 12 == backend_failed(rows, "web-b")  # what the canary's clients saw
    assert fig.failed == 20
    assert run_figures(rows, Window(T0, T0 + 30), stable="1.0.0", faulty="2.0.0",
                       detected_at=None).canary_failed is None  # the baseline has no canary backend


def test_report_names_the_canary_backend_and_tables_its_failures() -> None:
    """The report finds the canary's Deployment from the rollout's history, and its table shows
    the failures on that backend (Ripcord's run) beside the baseline's '-'."""
    import types

    from demo.report import canary_deployment, figures_table

    entry = {"id": 2, "timeline": [{"event": "Started", "message": "rollout 2: 1.0.0 -> 2.0.0 in slot b, steps [5]"}]}
    result = types.SimpleNamespace(status={"stable": {"slot": "a"}, "history": [entry]}, faulty_entry=entry,
                                   settings=types.SimpleNamespace(release="web"))
    assert canary_deployment(result) == "web-b"  # type: ignore[arg-type]
    rows = canary_incident()
    for r in rows[8:12]:
        r["failed_by_backend"] = {"web-b": 5}
    r_fig = run_figures(rows, Window(T0, T0 + 30), stable="1.0.0", faulty="2.0.0", detected_at=T0 + 7,
                        canary_backend="web-b")
    b_fig = run_figures(rows, Window(T0, T0 + 30), stable="1.0.0", faulty="2.0.0", detected_at=T0 + 45)
    line = next(x for x in figures_table(r_fig, b_fig).splitlines() if "backend" in x)
    assert [c.strip() for c in line.strip("|").split("|")] == \
        ["failed on 2.0.0's backend, answered or not", "20", "-"]


def test_the_gated_run_is_timed_from_the_canary_ready_and_joins_the_summary() -> None:
    from demo.figures import gated_goals, ready_to_decision_s
    entry = {"timeline": [{"event": "Started", "at": "2026-01-29T14:30:00.00Z"},
                          {"event": "GateStarted", "at": "2026-01-29T14:30:04.10Z"},
                          {"event": "RollingBack", "at": "2026-01-29T14:30:04.60Z"}],
             "reason": {"kind": "Gate", "at": "2026-01-29T14:30:04.60Z"}}
    assert ready_to_decision_s(entry) == pytest.approx(0.5)
    assert ready_to_decision_s({"timeline": [], "reason": {"at": "2026-01-29T14:30:04.60Z"}}) is None
    clean = run_figures([row(T0 + i, v1_0_0=50) for i in range(30)], Window(T0, T0 + 30), stable="1.0.0",
                        faulty="2.0.0", detected_at=T0 + 4.6)
    bad = run_figures([row(T0 + i, v2_0_0=50) for i in range(30)], Window(T0, T0 + 30), stable="1.0.0",
                      faulty="2.0.0", detected_at=T0 + 47.0)
    out = summary_json(clean, bad, promoted_version="2.0.1", provider="gateway-api", gated=clean,
                       gated_detect_s=0.54)
    assert tuple(out) == SUMMARY_KEYS and out["gated_failed_fraction"] == 0.0 and out["gated_detect_s"] == 0.54
    assert clean.detect_s is None, "no user request reached the faulty version: nothing to count from"
    assert [g.met for g in gated_goals(clean, 0.54)] == [True, True]
    assert [g.met for g in gated_goals(bad, 4.0)] == [False, False]
