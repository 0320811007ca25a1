"""Manual actions: the annotation the plugin writes is the one the engine acts on, once."""
from __future__ import annotations

import argparse
import re
from typing import Any

import pytest

from ripcord.cli import actions, outcome
from ripcord.cli.plugin import Plugin
from tests.unit.cli import engine_runs as runs
from tests.unit.cli.fakes import FakeClock, FakeCluster, streams

VALUE = re.compile(r"^[0-9]+/[0-9a-f]{8}$")


def test_requests_name_the_rollout_in_flight_with_a_fresh_nonce() -> None:
    release = runs.progressing().release()
    rid = release["status"]["rollout"]["id"]
    values = {actions.request_value(actions.target_rollout(release, "pause"), actions.new_nonce()) for _ in range(50)}
    assert len(values) == 50, "every request gets its own nonce"
    assert all(VALUE.match(v) and v.startswith(f"{rid}/") for v in values)
    assert actions.annotation_patch("pause", "2/abcd0123") == \
        {"metadata": {"annotations": {"ripcord.dev/pause": "2/abcd0123"}}}


def test_retry_names_the_last_rollout_and_only_when_something_is_held_back() -> None:
    release = runs.rolled_back_on_metric().release()
    assert actions.target_rollout(release, "retry") == release["status"]["history"][0]["id"]
    with pytest.raises(actions.ActionError, match="nothing to retry: rollout 2 ended Promoted"):
        actions.target_rollout(runs.promoted().release(), "retry")
    with pytest.raises(actions.ActionError, match="is in flight"):
        actions.target_rollout(runs.progressing().release(), "retry")


def test_actions_on_a_release_at_rest_are_refused_before_writing() -> None:
    with pytest.raises(actions.ActionError, match=r"no rollout in flight to promote \(the last one, 2, ended Promoted\)"):
        actions.target_rollout(runs.promoted().release(), "promote")


def _round_trip(run: runs.Run, action: actions.Action) -> tuple[str, actions.Effect]:
    """Plugin writes the annotation; the engine reads it like the operator would; judge the effect."""
    written: dict[str, str] = {}

    class Custom:
        def patch_namespaced_custom_object(self, *args: Any) -> None:
            written.update(args[-1]["metadata"]["annotations"])

    rid, value = actions.request(Custom(), run.release(), action)
    assert written == {f"ripcord.dev/{action}": value}
    run.ask(action, value)
    run.tick()
    release = run.release()
    assert actions.acknowledged(release, action) == value
    return value, actions.effect(release, action, rid)


@pytest.mark.parametrize("action,expect", [
    ("pause", "is paused at 20%"),
    ("promote", "will promote"),
    ("abort", "is being aborted"),
])
def test_the_engine_acts_on_what_the_plugin_writes(action: actions.Action, expect: str) -> None:
    _, eff = _round_trip(runs.progressing(), action)
    assert eff.applied, eff.message
    assert expect in eff.message


def test_resume_after_pause() -> None:
    run = runs.paused()
    _, eff = _round_trip(run, "resume")
    assert eff.applied and eff.message.endswith("is running")
    assert run.status.rollout is not None and not run.status.rollout.paused


def test_retry_lets_the_rolled_back_template_roll_out_again() -> None:
    run = runs.rolled_back_on_metric()
    _, eff = _round_trip(run, "retry")
    assert eff.applied
    run.analyze = runs.passing
    run.tick()
    assert run.status.rollout is not None and run.status.rollout.id == 3


def test_a_request_for_a_rollout_that_ended_is_acknowledged_but_ignored() -> None:
    run = runs.progressing()
    release_seen_by_user = run.release()
    run.ask("abort", "2/00000001")
    run.until(lambda r: r.status.phase == "Aborted")
    rid = actions.target_rollout(release_seen_by_user, "promote")
    run.ask("promote", f"{rid}/feedbeef")
    run.tick()
    eff = actions.effect(run.release(), "promote", rid)
    assert not eff.applied and "Aborted" in eff.message
    assert "StaleRequest" in [e["reason"] for e in run.events]


def test_resume_warns_when_spec_paused_keeps_it_paused() -> None:
    run = runs.start(paused=True)
    run.until(lambda r: r.status.phase == "Paused")
    _, eff = _round_trip(run, "resume")
    assert eff.applied and "spec.paused is true" in eff.message


def test_wait_acknowledged_times_out() -> None:
    clock = FakeClock(runs.T0)
    release = runs.progressing().release()
    got = actions.wait_acknowledged(lambda: release, "pause", "2/x", timeout=5, sleep=clock.sleep,
                                    monotonic=clock.monotonic)
    assert got is None and 5 <= clock.t <= 6


# ---------------------------------------------------------------------------- the command

def _plugin(cluster: FakeCluster) -> tuple[Plugin, Any, Any]:
    clock = FakeClock(runs.T0)
    out, err = streams()
    return Plugin(cluster, "shop", out, err, now=clock.now, sleep=clock.sleep, monotonic=clock.monotonic,
                  is_tty=False), out, err


def _args(action: str, wait: bool = True, timeout: float = 30) -> argparse.Namespace:
    return argparse.Namespace(command=action, name="web", wait=wait, timeout=timeout)


def test_pause_command_waits_for_the_acknowledgement() -> None:
    run = runs.progressing()
    frames: list[Any] = [run.release()]

    def operator_sees(body: dict[str, Any]) -> None:
        key, value = next(iter(body["metadata"]["annotations"].items()))
        run.ask(key.split("/")[1], value)
        frames.append(run.release())  # not yet acknowledged
        run.tick()
        frames.append(run.release())

    plugin, out, err = _plugin(FakeCluster(frames, on_patch=operator_sees))
    assert plugin.action(_args("pause")) == outcome.EXIT_OK
    assert "pause requested for rollout 2 (ripcord.dev/pause=2/" in out.getvalue()
    assert "acknowledged: rollout 2 is paused at 20%" in out.getvalue()


def test_command_exits_4_when_no_operator_acknowledges() -> None:
    plugin, _, err = _plugin(FakeCluster([runs.progressing().release()]))
    assert plugin.action(_args("abort", timeout=3)) == outcome.EXIT_TIMEOUT
    assert "has not acknowledged abort" in err.getvalue()


def test_command_exits_5_when_acknowledged_but_ignored() -> None:
    run = runs.progressing()
    frames: list[Any] = [run.release()]

    def rollout_ends_first(body: dict[str, Any]) -> None:
        run.ask("abort", "2/00000001")
        run.until(lambda r: r.status.phase == "Aborted")
        run.ask("promote", body["metadata"]["annotations"]["ripcord.dev/promote"])
        run.tick()
        frames.append(run.release())

    plugin, _, err = _plugin(FakeCluster(frames, on_patch=rollout_ends_first))
    assert plugin.action(_args("promote")) == outcome.EXIT_IGNORED
    assert "acknowledged but not acted on: promote ignored" in err.getvalue()


def test_command_refuses_without_writing_when_nothing_is_in_flight() -> None:
    cluster = FakeCluster([runs.promoted().release()])
    plugin, _, err = _plugin(cluster)
    assert plugin.action(_args("abort")) == outcome.EXIT_ERROR
    assert cluster.custom.patches == []
    assert "no rollout in flight to abort" in err.getvalue()
