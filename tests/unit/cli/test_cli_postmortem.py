"""The post-mortem report, built from engine-made Release objects and Events."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from ripcord.cli import postmortem
from ripcord.cli.impact import Impact, SourceImpact
from tests.unit.cli import engine_runs as runs


def _report(run: runs.Run, **kw: Any) -> str:
    return postmortem.build(run.release(), run.events, generated_at=run.now, **kw)


def _section(text: str, title: str) -> str:
    start = text.index(title)
    nxt = re.search(r"\n#{2,3} ", text[start + len(title):])
    return text[start: start + len(title) + (nxt.start() if nxt else len(text))]


def _table(section: str) -> list[list[str]]:
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows[2:]]


def test_rollback_report_names_the_signal_with_its_values() -> None:
    run = runs.rolled_back_at_second_step()
    text = _report(run)
    assert text.startswith("# Post-Mortem Report\n\n## Release `shop/web`, rollout 2: version 2.0.0 rolled back")
    signal = _table(_section(text, "## The Signal That Triggered the Rollback"))
    assert signal[0] == ["Metric", "error-rate", "34% (stable 0.2%)", "ratio <= 1.1 (alpha 0.01)", "50%", "14:30:20"]


def test_rollback_report_times_detection_and_restore_from_the_recorded_timeline() -> None:
    run = runs.rolled_back_at_second_step()
    entry = run.release()["status"]["history"][0]
    at = {t["event"]: t["at"] for t in reversed(entry["timeline"])}  # first occurrence
    served = dt.datetime.fromisoformat(at["WeightServed"].replace("Z", "+00:00"))
    detected = dt.datetime.fromisoformat(entry["reason"]["at"].replace("Z", "+00:00"))
    restored = dt.datetime.fromisoformat(entry["endedAt"].replace("Z", "+00:00"))
    text = _report(run)
    assert f"**Time to detect: {int((detected - served).total_seconds())}s**" in text
    assert f"**Time to restore: {int((restored - detected).total_seconds())}s**" in text
    milestones = dict((r[0], r[1]) for r in _table(_section(text, "## Detection and Restore")))
    assert milestones["Canary first served traffic"] == served.strftime("%H:%M:%S")
    assert milestones["Regression detected, rollback started"] == detected.strftime("%H:%M:%S")
    assert milestones["Canary at 0%: stable serving everything"] == restored.strftime("%H:%M:%S")


def test_timeline_has_every_engine_step_once_in_order_with_a_status() -> None:
    run = runs.rolled_back_at_second_step()
    rows = _table(_section(run and _report(run), "### Incident Timeline"))
    statuses = [r[2] for r in rows]
    assert statuses == ["🚀 STARTED", "➡️ STEP", "✓ SERVING", "➡️ STEP", "✓ SERVING", "🔴 DETECTED", "✓ RESTORED"]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert not any("Installed" in r[1] for r in rows), "the first release's Event is not part of rollout 2"


def test_events_the_timeline_lacks_are_merged_and_other_rollouts_left_out() -> None:
    run = runs.rolled_back_at_second_step()
    entry = run.release()["status"]["history"][0]
    mid = entry["timeline"][2]["at"][:19] + "Z"
    extra = [
        {"reason": "StaleRequest", "type": "Warning", "lastTimestamp": mid,
         "message": "abort 1/abc ignored: it names rollout 1, the current one is 2"},
        {"reason": "StaleRequest", "type": "Warning", "lastTimestamp": mid,
         "message": "pause 2/def ignored: something odd", "count": 3},
        {"reason": "BackOff", "type": "Warning", "lastTimestamp": "2026-01-29T16:00:00Z", "message": "much later"},
    ]
    text = postmortem.build(run.release(), run.events + extra, generated_at=run.now)
    rows = _table(_section(text, "### Incident Timeline"))
    texts = [r[1] for r in rows]
    assert "Event StaleRequest: pause 2/def ignored: something odd (×3)" in texts
    assert not any("names rollout 1" in t for t in texts), "an event about rollout 1 is not in rollout 2's report"
    assert not any("much later" in t for t in texts)
    assert sum(1 for r in rows if r[2] == "🚀 STARTED") == 1, "the RolloutStarted Event duplicates the timeline"


def test_pod_health_rollback_names_the_gate() -> None:
    text = _report(runs.pod_health())
    signal = _table(_section(text, "## The Signal That Triggered the Rollback"))
    assert signal[0][:2] == ["PodHealth", "CrashLoop"]
    assert "the pod-health gate `CrashLoop` tripped" in text
    assert "**Pod-health gates** stopped the rollout" in text


def test_post_promotion_watch_rollback_says_traffic_went_straight_back() -> None:
    text = _report(runs.post_promotion_watch())
    assert "during the post-promotion watch" in text
    assert "**Post-promotion watch**" in text
    assert "| Canary took all traffic (post-promotion watch) |" in text


def test_aborted_report_is_about_the_request() -> None:
    text = _report(runs.aborted())
    assert "version 2.0.0 aborted" in text
    assert "## The Request That Stopped the Rollout" in text
    assert "It was aborted by request at" in text
    assert "| Abort requested |" in text


def test_promoted_rollout_is_a_rollout_report_without_incident_sections() -> None:
    text = _report(runs.promoted())
    assert text.startswith("# Rollout Report")
    assert "No incident." in text and "### Rollout Timeline" in text
    assert "Signal That Triggered" not in text and "Follow-up Actions" not in text


def test_default_rollout_is_the_latest_that_did_not_ship() -> None:
    run = runs.rolled_back_on_metric()
    run.analyze = runs.passing
    run.apply(runs.spec_dict("2.0.1"))
    run.until(lambda r: r.status.rollout is None and r.status.phase == "Stable")
    release = run.release()
    assert [h["outcome"] for h in release["status"]["history"]][:2] == ["Promoted", "RolledBack"]
    assert postmortem.pick_rollout(release)["id"] == 2
    assert postmortem.pick_rollout(release, 3)["id"] == 3
    with pytest.raises(postmortem.NoRollout, match="rollout 9 is not in status.history"):
        postmortem.pick_rollout(release, 9)
    text = postmortem.build(release, run.events, generated_at=run.now)
    assert "rollout 2: version 2.0.0 rolled back" in text
    # status.analysis now belongs to rollout 3: rollout 2's report must not show it as its own
    assert "All metrics at the last analysis" not in text


def test_without_prometheus_the_report_says_so_and_bounds_by_weight() -> None:
    text = _report(runs.rolled_back_on_metric())
    impact = _section(text, "## Impact Assessment")
    assert "Impact in requests was not measured: no Prometheus was given" in impact
    assert "the canary took at most 20% of traffic for" in impact


def test_measured_impact_is_tabled_with_errors_beyond_the_stables_rate() -> None:
    run = runs.rolled_back_on_metric()
    imp = Impact(runs.T0, runs.T0 + dt.timedelta(seconds=30), "web-b", "web-a",
                 (SourceImpact("app", 200, 68, 800, 2), SourceImpact("gateway", 210, 75, 800, 2)), ("note",))
    text = _report(run, impact=imp, prometheus="http://prom:9090")
    rows = _table(_section(text, "## Impact Assessment"))
    assert rows[0] == ["app (the pods' own counters)", "200", "68", "34%", "0.25%", "20%", "68"]
    assert rows[1][0] == "gateway (what clients saw, refused and timed-out included)" and rows[1][2] == "75"
    assert "**Impact: about 74 failed requests beyond the stable's own error rate (gateway (what clients saw, " \
           "refused and timed-out included) metrics), out of 210 requests sent to the canary.**" in text


def test_impact_error_is_reported_not_raised() -> None:
    text = _report(runs.rolled_back_on_metric(), impact_error="MetricsUnavailable: timed out",
                   prometheus="http://prom:9090")
    assert "Prometheus at http://prom:9090 could not be read: MetricsUnavailable: timed out" in text


@pytest.mark.parametrize("scenario", [runs.rolled_back_on_metric, runs.pod_health, runs.post_promotion_watch,
                                      runs.aborted, runs.promoted, runs.progressing, runs.held])
def test_every_markdown_table_is_well_formed(scenario: Any) -> None:
    text = _report(scenario())
    blocks = re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M)
    assert blocks
    for block in blocks:
        widths = {len(re.split(r"(?<!\\)\|", line)) for line in block.splitlines()}
        assert len(widths) == 1, block


def test_report_is_deterministic() -> None:
    run = runs.rolled_back_on_metric()
    assert _report(run) == _report(run)


def test_exposure_states_the_share_the_data_plane_served_when_it_exceeds_the_asked_weight() -> None:
    """Replicas provider, 2 replicas: a 20% step is one canary pod beside two, 33.33% of the traffic."""
    run = runs.start(analyze=runs.failing_at_step(0), replicas=2)
    run.until(lambda r: r.status.phase == "RolledBack")
    text = _report(run)
    assert "at up to 33.33% of traffic (20% asked)**" in text
    assert "the other 66.67% of requests stayed on 1.0.0" in text


def test_report_of_a_rollback_says_the_release_is_still_stalled() -> None:
    text = _report(runs.rolled_back_on_metric())
    assert "**The bad version stays rolled back**: the Release is Stalled" in text


def test_report_of_an_old_rollback_does_not_call_a_stable_release_stalled() -> None:
    """2.0.0 rolled back (rollout 2), then 2.0.1 promoted (rollout 3): the Release is Stable now."""
    run = runs.rolled_back_on_metric()
    run.analyze = runs.passing
    run.apply(runs.spec_dict("2.0.1"))
    run.until(lambda r: r.status.rollout is None and r.status.phase == "Stable")
    text = postmortem.build(run.release(), run.events, rollout_id=2, generated_at=run.now)
    assert "the Release is Stalled" not in text
    assert ("**The bad version stayed rolled back**: the Release was Stalled after this rollout and did not retry "
            "the same template by itself until rollout 3 (2.0.1) started. The Release is Stable now.") in text
