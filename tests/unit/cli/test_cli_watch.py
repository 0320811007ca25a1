"""`get --watch`: when a rollout is over, and the exit code a CI job gets."""
from __future__ import annotations

import argparse
import re
from typing import Any

import pytest

from ripcord.cli import outcome
from ripcord.cli.plugin import Plugin, build_parser
from tests.unit.cli import engine_runs as runs
from tests.unit.cli.fakes import FakeClock, FakeCluster, streams


@pytest.mark.parametrize("scenario,code", [
    (runs.promoted, outcome.EXIT_OK),
    (runs.installed, outcome.EXIT_OK),
    (runs.rolled_back_on_metric, outcome.EXIT_ROLLED_BACK),
    (runs.pod_health, outcome.EXIT_ROLLED_BACK),
    (runs.post_promotion_watch, outcome.EXIT_ROLLED_BACK),
    (runs.aborted, outcome.EXIT_ROLLED_BACK),
    (runs.invalid_spec, outcome.EXIT_INVALID_SPEC),
])
def test_end_states(scenario: Any, code: int) -> None:
    ended = outcome.watch_result(scenario().release())
    assert ended is not None and ended.code == code, ended


@pytest.mark.parametrize("scenario", [runs.progressing, runs.paused, runs.held])
def test_rollouts_in_flight_are_not_over(scenario: Any) -> None:
    assert outcome.watch_result(scenario().release()) is None


def test_a_spec_the_operator_has_not_seen_is_not_over_even_if_ready() -> None:
    obj = runs.promoted().release()
    obj["metadata"]["generation"] += 1
    assert outcome.watch_result(obj) is None


def test_a_deleted_release_ends_the_watch_as_an_error() -> None:
    obj = runs.progressing().release()
    obj["metadata"]["deletionTimestamp"] = "2026-01-29T14:40:00Z"
    ended = outcome.watch_result(obj)
    assert ended is not None and ended.code == outcome.EXIT_ERROR


def test_exit_codes_are_distinct_and_documented_in_help() -> None:
    codes = [outcome.EXIT_OK, outcome.EXIT_ERROR, outcome.EXIT_INVALID_SPEC, outcome.EXIT_ROLLED_BACK,
             outcome.EXIT_TIMEOUT, outcome.EXIT_IGNORED, outcome.EXIT_USAGE]
    assert len(set(codes)) == len(codes)
    help_text = build_parser().format_help()
    for code in codes:
        assert f"\n  {code} " in help_text


def test_usage_errors_do_not_exit_2() -> None:
    """2 means an invalid spec to a CI job; argparse's own usage errors must not look like it."""
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["get", "--no-such-flag"])
    assert exc.value.code == outcome.EXIT_USAGE


def _watch(sequence: list[Any], timeout: float = 0.0, tty: bool = False) -> tuple[int, str, str, FakeCluster]:
    clock = FakeClock(runs.T0)
    cluster = FakeCluster(sequence)
    out, err = streams()
    plugin = Plugin(cluster, "shop", out, err, now=clock.now, sleep=clock.sleep, monotonic=clock.monotonic,
                    is_tty=tty)
    code = plugin.watch("web", timeout=timeout, interval=1.0)
    return code, out.getvalue(), err.getvalue(), cluster


def _rollback_frames() -> list[dict[str, Any]]:
    """Release objects as a watcher polling once a second would see them during a failed rollout."""
    run = runs.start(analyze=runs.failing_at_step(1))
    frames = []
    while run.status.phase != "RolledBack":
        frames.append(run.release())
        run.tick()
    frames.append(run.release())
    return frames


def test_watch_exits_3_when_the_rollout_is_rolled_back() -> None:
    frames = _rollback_frames()
    code, out, _, cluster = _watch(frames)
    assert code == outcome.EXIT_ROLLED_BACK
    assert cluster.calls == len(frames)
    assert "rollout ended (did not ship, exit 3): RolledBack: 2.0.0 rolled back (error-rate" in out


def test_watch_log_has_one_line_per_change_when_not_a_terminal() -> None:
    frames = _rollback_frames()
    code, out, _, _ = _watch(frames)
    progress = [line for line in out.splitlines() if re.match(r"^\d\d:\d\d:\d\d ", line)]
    phases = [line.split(" ", 1)[1] for line in progress]
    assert phases[0].startswith("Progressing | step 1/2") and phases[-1].startswith("RolledBack")
    assert len(phases) == len(set(phases)), "a line is printed only when the rollout changed"
    assert len(progress) < len(frames)
    assert "\x1b[" not in out


def test_watch_exits_0_when_promoted_after_the_post_promotion_watch() -> None:
    run = runs.start()
    frames = []
    while not (run.status.rollout is None and run.status.phase == "Stable"):
        frames.append(run.release())
        run.tick()
    frames.append(run.release())
    assert any((f["status"].get("rollout") or {}).get("state") == "Watching" for f in frames)
    code, out, _, cluster = _watch(frames)
    assert code == outcome.EXIT_OK
    assert cluster.calls == len(frames), "Watching is not the end: the watch after the switch may still roll back"


def test_watch_redraws_in_a_terminal() -> None:
    frames = _rollback_frames()
    code, out, _, _ = _watch(frames, tty=True)
    assert code == outcome.EXIT_ROLLED_BACK
    assert out.count("\x1b[H\x1b[2J") == len(frames)


def test_watch_times_out_with_4() -> None:
    code, _, err, cluster = _watch([runs.held().release()], timeout=10)
    assert code == outcome.EXIT_TIMEOUT
    assert "timed out after 10s" in err
    assert 10 <= cluster.calls <= 12


def test_watch_survives_api_errors_and_reports_each_once() -> None:
    ok = runs.promoted().release()
    code, _, err, _ = _watch([ConnectionError("refused"), ConnectionError("refused"), ok])
    assert code == outcome.EXIT_OK
    assert err.count("cannot read release web: ConnectionError: refused") == 1


def test_watch_of_a_missing_release_exits_1() -> None:
    code, _, err, _ = _watch([])
    assert code == outcome.EXIT_ERROR
    assert 'release "web" not found' in err


def test_watch_needs_a_name() -> None:
    out, err = streams()
    plugin = Plugin(FakeCluster([]), "shop", out, err)
    args = argparse.Namespace(name=None, watch=True, all_namespaces=False)
    assert plugin.get(args) == outcome.EXIT_USAGE


def test_global_flags_work_before_and_after_the_command() -> None:
    p = build_parser()
    before = p.parse_args(["-n", "shop", "--context", "prod", "get", "web"])
    after = p.parse_args(["get", "web", "-n", "shop", "--context", "prod"])
    for args in (before, after):
        assert (args.namespace, args.context, args.name) == ("shop", "prod", "web")
    assert p.parse_args(["abort", "web", "--wait", "--timeout", "2m"]).timeout == 120.0


def test_kubeconfig_context_namespace_is_the_default(tmp_path: Any) -> None:
    import yaml

    from ripcord.cli.kube import load
    cluster = {"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}
    user = {"name": "u", "user": {"token": "t"}}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster], "users": [user],
        "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u", "namespace": "shop"}},
                     {"name": "ops", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "dev"}))
    api, ns = load(str(path), None)
    assert ns == "shop" and api.configuration.host == "https://127.0.0.1:1"
    assert load(str(path), "ops")[1] == "default"
