"""Prometheus stopped, or hung (SIGSTOP), in the middle of a rollout's analysis.

The operator reads a Prometheus of the test's own (``own_prometheus``: same targets as the
sandbox's, this namespace only), so stopping it harms no other test. What must hold:

* the analysis says Unavailable and the engine sets ``MetricsUnavailable``; the weight is
  held (no step, no promotion) beyond the step's duration, and the rollout is rolled back
  with reason ``MetricsUnavailable`` once the outage reaches ``metricsUnavailableLimit``;
* pod-health gates do not need Prometheus: a canary that crashes during the outage is
  rolled back at once (reason ``PodHealth``), long before the limit.

A stopped Prometheus refuses connections at once; a hung one accepts them and never
answers, so every analysis runs into its deadline (1.6 s here: 0.8 x the 2 s interval).
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Callable

import pytest
from kubernetes import client, watch

from tests.integration.analysis.conftest import (Load, PrivatePrometheus, Stopwatch, condition, entry, metric,
                                                 parse_time, rollout_id, wait_status)
from tests.integration.support import OperatorProcess, Releases, release_manifest, wait_for

STEPS = [20, 50]
STEP_S = 12
LIMIT_S = 20
ERRORS = {"name": "error-rate", "type": "error-rate", "source": "app", "judge": "threshold", "max": 0.05}
OUTAGES = ["stopped", "hung"]


def _cut(prom: PrivatePrometheus, how: str) -> None:
    if how == "stopped":
        prom.stop()
    else:
        prom.freeze()


def _start(releases: Releases, name: str, prom: PrivatePrometheus, operator_at: Callable[[str], OperatorProcess],
           load: Load, namespace: str, analysis: dict[str, Any], stopwatch: Stopwatch) -> None:
    """The operator on the private Prometheus, 1.0.0 stable under load, its series scraped."""
    operator_at(prom.url)
    releases.apply(release_manifest(name, "1.0.0", steps=STEPS, analysis=analysis))
    releases.wait_phase(name, "Stable", timeout=90)
    load.start(name, rps=40)
    wait_for(lambda: prom.has_series(f'http_requests_total{{namespace="{namespace}",code="200"}}'), 30,
             "the private Prometheus to scrape the stable")
    stopwatch.mark("1.0.0 stable under load, scraped by the private Prometheus")


@pytest.mark.integration
@pytest.mark.parametrize("how", OUTAGES)
def test_an_outage_holds_the_weight_and_rolls_back_at_the_limit(
        how: str, releases: Releases, operator_at: Callable[[str], OperatorProcess], own_prometheus: PrivatePrometheus,
        namespace: str, load: Load, stopwatch: Stopwatch) -> None:
    name = "outage"
    analysis = {"interval": "2s", "stepDuration": f"{STEP_S}s", "metricsUnavailableLimit": f"{LIMIT_S}s",
                "metrics": [ERRORS]}
    _start(releases, name, own_prometheus, operator_at, load, namespace, analysis, stopwatch)

    releases.apply(release_manifest(name, "2.0.1", steps=STEPS, analysis=analysis))
    rid = rollout_id(releases, name)
    # the analysis works (a Pass needs data from the private Prometheus), mid-step
    before = wait_status(releases, name, lambda s: (s.get("rollout") or {}).get("step") == 0
                         and (s.get("analysis") or {}).get("verdict") == "Pass", 60,
                         "a passing analysis at the first step")
    assert metric(before, "error-rate")["value"] == 0.0, before
    stopwatch.mark("first step analysed")

    _cut(own_prometheus, how)
    stopwatch.mark(f"Prometheus {how}")
    unavailable: dict[str, dict[str, Any]] = {}  # analysis.at -> what the status said then
    held_at: dict[str, int] = {}  # weight and step at the first unavailable analysis

    def held(s: dict[str, Any]) -> bool:
        ro = s.get("rollout") or {}
        assert ro.get("id") == rid and ro.get("state") == "Progressing", f"rollout left Progressing: {ro}"
        an = s.get("analysis") or {}
        if an.get("verdict") == "Unavailable":
            cond = condition(s, "MetricsUnavailable")
            assert cond.get("status") == "True" and "weight held" in cond["message"], cond
            assert all(m["verdict"] == "Unavailable" for m in an["metrics"]), an["metrics"]
            unavailable.setdefault(an["at"], {"weight": s["weight"], "message": an["metrics"][0]["message"]})
            held_at.setdefault("weight", s["weight"])
            held_at.setdefault("step", ro["step"])
        if held_at:
            assert (s["weight"], ro["step"]) == (held_at["weight"], held_at["step"]), \
                f"the weight moved during the outage: {held_at} -> {ro}"
        return len(unavailable) >= 4

    wait_status(releases, name, held, 30, "four unavailable analyses with the weight held")
    held_weight = held_at["weight"]
    assert held_weight in STEPS, held_at
    stopwatch.mark(f"{len(unavailable)} unavailable analyses, weight held at {held_weight}%")
    messages = {u["message"] for u in unavailable.values()}
    want = "refused the connection" if how == "stopped" else "no answer within"
    assert all(want in m and "Prometheus default" in m for m in messages), messages

    status = releases.wait_outcome(name, "RolledBack", rollout_id=rid, timeout=LIMIT_S + 60)
    stopwatch.mark("rolled back at the limit")
    h = entry(status, rid)
    reason = h["reason"]
    assert reason["kind"] == "MetricsUnavailable" and reason["weight"] == held_weight, reason
    assert "metrics unavailable for" in reason["message"], reason
    timeline = h["timeline"]
    first_unavailable = parse_time(min(unavailable))
    rolled = parse_time(reason["at"])
    served = [parse_time(t["at"]) for t in timeline if t["event"] == "WeightServed"
              and parse_time(t["at"]) <= first_unavailable]
    assert served and timeline[-1]["event"] == "RolledBack", timeline
    # the step ran past its duration without moving on, and the outage lasted the limit
    assert (rolled - served[-1]).total_seconds() > STEP_S, (served, reason["at"])
    assert LIMIT_S - 3 <= (rolled - first_unavailable).total_seconds() <= LIMIT_S + 15, (min(unavailable), reason)
    after_cut = [t["event"] for t in timeline if parse_time(t["at"]) >= first_unavailable]
    assert after_cut[0] == "RollingBack" and "StepStarted" not in after_cut and "Promoting" not in after_cut, \
        timeline
    assert status["stable"]["version"] == "1.0.0"
    assert condition(status, "MetricsUnavailable")["status"] == "False"  # no rollout: nothing held any more
    events = releases.events(name)
    assert any(e.reason == "RollingBack" and "metrics unavailable" in e.message for e in events)


def _canary_restarts(core: client.CoreV1Api, namespace: str, name: str, slot: str) -> tuple[int, list[str]]:
    """Restarts of the canary's containers and when they last ended."""
    pods = core.list_namespaced_pod(namespace, label_selector=f"ripcord.dev/release={name},ripcord.dev/slot={slot}")
    restarts, ended = 0, []
    for p in pods.items:
        for cs in p.status.container_statuses or []:
            restarts += cs.restart_count or 0
            term = cs.last_state.terminated if cs.last_state else None
            if term is not None and term.finished_at is not None:
                ended.append(term.finished_at.astimezone(dt.timezone.utc).isoformat())
    return restarts, ended


class _ContainerEnds:
    """A pod watch in a thread, keeping when each container of the selected pods last ended."""

    def __init__(self, kube: client.ApiClient, namespace: str, selector: str) -> None:
        self.core, self.namespace, self.selector = client.CoreV1Api(kube), namespace, selector
        self.seen: set[str] = set()
        self._watch = watch.Watch()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            for event in self._watch.stream(self.core.list_namespaced_pod, self.namespace,
                                            label_selector=self.selector, timeout_seconds=180, _request_timeout=200):
                for cs in event["object"].status.container_statuses or []:
                    term = cs.last_state.terminated if cs.last_state else None
                    if term is not None and term.finished_at is not None:
                        self.seen.add(term.finished_at.astimezone(dt.timezone.utc).isoformat())
        except Exception:  # noqa: BLE001 - the stream closed under it by __exit__
            if not self._stopped:
                raise

    def __enter__(self) -> "_ContainerEnds":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopped = True
        self._watch.stop()


@pytest.mark.integration
@pytest.mark.parametrize("how", OUTAGES)
def test_a_crash_during_the_outage_still_rolls_back_at_once(
        how: str, releases: Releases, operator_at: Callable[[str], OperatorProcess], own_prometheus: PrivatePrometheus,
        namespace: str, load: Load, kube: client.ApiClient, stopwatch: Stopwatch) -> None:
    """The outage starts before the canary's first analysis; the canary exits after 35 s.
    Pod health needs no Prometheus: the first restart rolls it back (maxRestarts 0), while
    the 300 s metrics limit is far away."""
    name = "crash"
    crash_after_s = 35
    analysis = {"interval": "2s", "stepDuration": f"{STEP_S}s", "metricsUnavailableLimit": "300s",
                "metrics": [ERRORS], "podHealth": {"maxRestarts": 0}}
    _start(releases, name, own_prometheus, operator_at, load, namespace, analysis, stopwatch)
    core = client.CoreV1Api(kube)

    _cut(own_prometheus, how)
    releases.apply(release_manifest(name, "2.0.4", env={"CRASH_AFTER_S": str(crash_after_s)}, steps=STEPS,
                                    analysis=analysis))
    rid = rollout_id(releases, name)
    during = wait_status(releases, name, lambda s: condition(s, "MetricsUnavailable").get("status") == "True",
                         crash_after_s, "MetricsUnavailable before the canary crashes")
    slot = during["canary"]["slot"]
    assert _canary_restarts(core, namespace, name, slot)[0] == 0, "the canary crashed before the outage was seen"
    assert during["rollout"]["state"] == "Progressing" and during["weight"] == STEPS[0], during["rollout"]
    stopwatch.mark(f"MetricsUnavailable with Prometheus {how}; canary not crashed yet")

    def rolled_back() -> Any:
        s = releases.status(name)
        h = next((h for h in s.get("history") or [] if h["id"] == rid), {})
        return h.get("outcome") == "RolledBack" and s or f"phase {s.get('phase')}"

    # Every state the canary's pods go through, from a watch: the crash is seen even if the
    # rollback deletes the pod before a poll would have found its restart.
    with _ContainerEnds(kube, namespace, f"ripcord.dev/release={name},ripcord.dev/slot={slot}") as ends:
        status = wait_for(rolled_back, crash_after_s + 60, "the crashed canary to be rolled back")
        crashed = wait_for(lambda: sorted(ends.seen), 10, "the canary container's end, from the pod watch")
    stopwatch.mark("rolled back")
    reason = entry(status, rid)["reason"]
    assert reason["kind"] == "PodHealth" and reason["metric"] in ("Restarts", "CrashLoop"), reason
    unavailable_since = parse_time(status["analysis"]["unavailableSince"])
    rolled = parse_time(reason["at"])
    assert unavailable_since < rolled, "the outage was on when the canary was rolled back"
    assert crashed, "the canary's container ended and was seen restarting"
    after_crash = (rolled - parse_time(min(crashed))).total_seconds()
    print(f"rolled back {after_crash:.1f}s after the crash, {(rolled - unavailable_since).total_seconds():.0f}s "
          f"into the outage: {reason['message']}")
    assert -1.0 <= after_crash <= 10.0, (crashed, reason)
    assert (rolled - unavailable_since).total_seconds() < 120, "long before the metrics limit"
    assert status["stable"]["version"] == "1.0.0"
    assert metric(status, "error-rate").get("verdict") == "Unavailable"
