"""`kubectl ripcord get`: gates, mirror, pause steps, approval and webhook calls, from the Release JSON."""
from __future__ import annotations

import datetime as dt
from typing import Any

from ripcord.cli import render

NOW = dt.datetime(2026, 1, 29, 14, 31, tzinfo=dt.timezone.utc)


def release(spec: dict[str, Any], rollout: dict[str, Any], **status: Any) -> dict[str, Any]:
    base = {"version": "2.0.0", "steps": [20, "pause", 50], "gate": {"requests": [{"path": "/health"}],
                                                                     "successes": 2}}
    return {"metadata": {"name": "web", "namespace": "shop", "generation": 1},
            "spec": {**base, **spec},
            "status": {"observedGeneration": 1, "phase": "Progressing", "stable": {"version": "1.0.0"},
                       "canary": {"version": "2.0.0"},
                       "rollout": {"id": 2, "state": "Progressing", "step": 0, "weight": 0,
                                   "startedAt": "2026-01-29T14:30:00Z", **rollout}, **status}}


def test_steps_show_the_gate_the_pause_and_where_the_rollout_is() -> None:
    gating = release({}, {"gate": {"startedAt": "2026-01-29T14:30:01Z", "rounds": 1, "passes": 1,
                                   "checks": [{"request": "GET /health", "passed": True,
                                               "message": "GET /health answered 200 in 3 ms"}]}})
    assert render.steps_line(gating) == "gate ◀ › 20% › pause › 50% › promote"
    view = render.release_view(gating, [], NOW)
    assert "Gate:        round 1, 1/2 passed in a row" in view and "ok   GET /health answered 200 in 3 ms" in view
    paused = release({}, {"step": 0, "weight": 20, "gate": {"passedAt": "2026-01-29T14:30:03Z", "rounds": 2},
                          "pause": {"afterStep": 0, "startedAt": "2026-01-29T14:30:30Z"}}, phase="Paused")
    assert render.steps_line(paused) == "gate ✓ › 20% ✓ › pause ◀ › 50% › promote"
    view = render.release_view(paused, [], NOW)
    assert "Pause:       after step 1, until resumed: kubectl ripcord resume web (or promote)" in view
    assert render.spec_weights(paused) == [20, 50]
    assert render.rollout_state(paused, {"id": 2, "outcome": "Progressing"})[0] == "Paused"


def test_approval_and_webhook_calls_are_shown() -> None:
    r = release({"steps": [20, 50], "requireApproval": True, "gate": None},
                 {"step": 1, "weight": 50, "awaitingApproval": True},
                 phase="AwaitingApproval",
                 webhooks=[{"name": "freeze", "type": "confirm-promotion", "rolloutId": 2, "key": "confirm-promotion",
                            "attempts": 3, "result": "Waiting", "message": "answered 423"}])
    assert render.steps_line(r) == "20% ✓ › 50% ◀ › approval ◀ › promote"
    view = render.release_view(r, [], NOW)
    assert "Approval:    every step passed; approve with kubectl ripcord promote web" in view
    assert "freeze  confirm-promotion            Waiting  3x  answered 423" in view
    assert render.rollout_state(r, {"id": 2, "outcome": "Progressing"})[0] == "AwaitingApproval"
    assert "AwaitingApproval" in render.releases_table([r], NOW)


def test_a_release_without_gates_renders_as_before() -> None:
    r = release({"steps": [5, 10], "gate": None}, {"step": 1, "weight": 10})
    assert render.steps_line(r) == "5% ✓ › 10% ◀ › promote"
    assert "Gate:" not in render.release_view(r, [], NOW)


def test_the_post_mortem_of_a_gate_rollback_says_no_user_request_reached_it() -> None:
    from ripcord.cli import postmortem
    from tests.unit.engine.sim import installed, spec, start_rollout
    from tests.unit.engine.test_engine_gate import like_2_0_0

    w = installed(spec("1.0.0", gate={"requests": [{"path": "/health"}]}), gate_reply=like_2_0_0)
    start_rollout(w)
    w.tick()
    w.run_until(lambda w: w.status.rollout is None, 60)
    obj = {"metadata": {"name": "web", "namespace": "shop", "generation": 1},
           "spec": w.spec.model_dump(by_alias=True, exclude_none=True), "status": w.status.wire()}
    text = postmortem.build(obj, [], generated_at=w.now)
    assert "the pre-traffic gate failed before any user request reached the canary (pre-traffic gate: GET /health " \
           "answered 500" in text
    assert "**Pre-traffic gate** stopped the rollout at weight 0: no user request reached 2.0.0." in text
