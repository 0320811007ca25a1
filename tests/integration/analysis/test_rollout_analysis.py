"""Issue 4 through the operator: metrics roll back what they should, promote what they should,
and a Release cannot point the operator at a Prometheus its configuration does not allow.

Each test runs ``ripcord run`` as its own process under the shipped RBAC, with the sandbox's
Prometheus, and real traffic from the gateway stand-in. Fixed-bound (``threshold``) metrics
keep these tests exact: the sequential judge has its own tests (test_judge_rollouts.py).
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Optional

import pytest
from kubernetes import client

from ripcord.contract import ROUTE_GROUP, ROUTE_VERSION
from tests.integration.analysis.conftest import (Load, Stopwatch, condition, entry, metric, parse_time,
                                                 rollout_id, wait_status)
from tests.integration.support import Releases, capture, release_manifest

STEPS = [20, 50]


def _errors(name: str = "error-rate", source: str = "app", bound: float = 0.05) -> dict[str, Any]:
    return {"name": name, "type": "error-rate", "source": source, "judge": "threshold", "max": bound}


def _stable(releases: Releases, name: str, stopwatch: Stopwatch, version: str = "1.0.0", **kw: Any) -> None:
    releases.apply(release_manifest(name, version, steps=STEPS, **kw))
    releases.wait_phase(name, "Stable", timeout=90)
    stopwatch.mark(f"{version} stable")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _assert_metric_reason(status: dict[str, Any], rid: int, name: str, started: dt.datetime) -> dict[str, Any]:
    """The rollback reason names the metric with its value, bound, the weight of the step and
    the time; the history, the timeline and status.analysis agree."""
    h = entry(status, rid)
    assert h["outcome"] == "RolledBack", h
    reason = h["reason"]
    assert reason["kind"] == "Metric" and reason["metric"] == name, reason
    assert reason["value"] is not None and reason["bound"], reason
    assert name in reason["message"] and "breached" in reason["message"], reason
    at = parse_time(reason["at"])
    assert started - dt.timedelta(seconds=2) <= at <= _now() + dt.timedelta(seconds=2), (started, reason["at"])
    # the weight is that of the step in flight when the metric failed
    steps = [t for t in h["timeline"] if t["event"] == "StepStarted" and parse_time(t["at"]) <= at]
    assert steps and reason["weight"] == steps[-1]["weight"] and reason["weight"] in STEPS, (reason, h["timeline"])
    rolling = [t for t in h["timeline"] if t["event"] == "RollingBack"]
    assert rolling and rolling[0]["at"] == reason["at"] and rolling[0]["message"] == reason["message"], h["timeline"]
    # the last analysis recorded the same failing metric
    last = metric(status, name)
    assert status["analysis"]["verdict"] == "Fail" and last["verdict"] == "Fail", status["analysis"]
    assert last["value"] == reason["value"] and last["bound"] == reason["bound"], (last, reason)
    assert status["stable"]["version"] == "1.0.0" and status.get("rollout") is None
    assert status["phase"] == "RolledBack" and condition(status, "Stalled")["status"] == "True"
    return reason


def _rollout_reason_while_rolling_back(releases: Releases, name: str, rid: int) -> dict[str, Any]:
    """The status at the end of the rollout; on the way, status.rollout.reason while it rolls
    back (if a poll catches that state: draining can be quicker than a poll)."""
    seen: dict[str, Any] = {}

    def done(s: dict[str, Any]) -> bool:
        ro = s.get("rollout") or {}
        if ro.get("id") == rid and ro.get("state") == "RollingBack" and ro.get("reason"):
            seen.setdefault("reason", ro["reason"])
            assert s["weight"] == 0, s  # traffic goes back at once
        return any(h["id"] == rid and h["outcome"] != "Progressing" for h in s.get("history") or [])

    status = wait_status(releases, name, done, 150, f"rollout {rid} of {name} to end")
    if "reason" in seen:
        assert seen["reason"] == entry(status, rid)["reason"], (seen["reason"], entry(status, rid)["reason"])
    return status


# ---------------------------------------------------------------------------- error rate


#: Each provider with the metric source that sees its traffic from the calling side.
SOURCE_OF = {"replicas": "app", "gateway-api": "gateway", "istio": "istio"}


@pytest.mark.integration
@pytest.mark.parametrize("provider", list(SOURCE_OF))
def test_seed_2_0_0_is_rolled_back_on_error_rate(provider: str, releases: Releases, operator: Any, namespace: str,
                                                 load: Load, stopwatch: Stopwatch) -> None:
    """The post-mortem's version: its readiness probe does not call /health, so it becomes Ready
    and takes traffic; every /api/status and /health answer is a 500. Judged by the app's own
    metrics (replicas), the gateway's (gateway-api) and Istio's client-side ones (istio: the
    source's defaults read istio_requests_total as the gateway stand-in exports it)."""
    name = "web"
    analysis = {"metrics": [_errors(source=SOURCE_OF[provider])]}
    _stable(releases, name, stopwatch, analysis=analysis, provider=provider)
    traffic = load.start(name, rps=40, provider=provider)
    started = _now()
    releases.apply(release_manifest(name, "2.0.0", steps=STEPS, analysis=analysis, provider=provider))
    rid = rollout_id(releases, name)
    status = _rollout_reason_while_rolling_back(releases, name, rid)
    took = stopwatch.mark("2.0.0 rolled back")
    if provider == "replicas":
        capture("rolled-back-error-rate", releases.get(name))

    reason = _assert_metric_reason(status, rid, "error-rate", started)
    assert reason["value"] == pytest.approx(1.0), reason  # 2.0.0 fails every request it answers
    assert reason["bound"] == "<= 0.05", reason
    assert metric(status, "error-rate")["stableValue"] == 0.0, status["analysis"]
    assert releases.wait_event(name, "RolledBack").type == "Warning"
    events = releases.events(name)
    assert any(e.reason == "RollingBack" and e.type == "Warning" and "error-rate" in e.message for e in events)
    seen = load.summary(traffic)
    assert seen["by_version"].get("2.0.0", 0) > 0, f"the canary took traffic (Ready without /health): {seen}"
    print(f"2.0.0 rolled back {took:.1f}s into the test: {reason['message']} at {reason['weight']}%")


# ---------------------------------------------------------------------------- latency and hangs


@pytest.mark.integration
def test_added_latency_is_rolled_back_on_latency(releases: Releases, operator: Any, namespace: str, load: Load,
                                                 stopwatch: Stopwatch) -> None:
    """2.0.2 answers correctly, 300 ms late: no error metric fails, the latency metric does."""
    name = "slow"
    analysis = {"metrics": [_errors(),
                            {"name": "latency", "type": "latency", "source": "app", "judge": "threshold",
                             "quantile": 0.9, "maxRatio": 2.0}]}
    _stable(releases, name, stopwatch, analysis=analysis)
    load.start(name, rps=40)
    started = _now()
    releases.apply(release_manifest(name, "2.0.2", env={"LATENCY_MS": "300"}, steps=STEPS, analysis=analysis))
    rid = rollout_id(releases, name)
    status = _rollout_reason_while_rolling_back(releases, name, rid)
    stopwatch.mark("2.0.2 (LATENCY_MS=300) rolled back")

    reason = _assert_metric_reason(status, rid, "latency", started)
    last = metric(status, "latency")
    # every canary request took >= 0.3 s: its p90 lies in the (0.25, 0.5] bucket
    assert 0.25 < reason["value"] <= 1.0, reason
    assert last["stableValue"] is not None and last["stableValue"] < reason["value"] / 2, last
    assert reason["bound"].startswith("<= 2 x stable"), reason
    errors = metric(status, "error-rate")
    assert errors["verdict"] != "Fail" and errors["value"] == 0.0, errors


@pytest.mark.integration
def test_hanging_requests_are_rolled_back_on_gateway_metrics(releases: Releases, operator: Any, namespace: str,
                                                             load: Load, stopwatch: Stopwatch) -> None:
    """2.0.3 never answers a quarter of its requests but passes its probes. Its own metrics
    count only what it answered (no errors); the gateway counts the 504s, against the canary's
    Service (gateway-api provider: the route names the slot's Service; no pod answered, so the
    gateway, like Istio, knows no workload)."""
    name = "hang"
    analysis = {"metrics": [_errors("error-rate", "app"), _errors("gateway-errors", "gateway")]}
    _stable(releases, name, stopwatch, analysis=analysis, provider="gateway-api")
    traffic = load.start(name, rps=40, timeout_s=1.0, provider="gateway-api")
    started = _now()
    releases.apply(release_manifest(name, "2.0.3", env={"HANG_RATE": "0.25", "SEED": "3"}, steps=STEPS,
                                    analysis=analysis, provider="gateway-api"))
    rid = rollout_id(releases, name)
    status = _rollout_reason_while_rolling_back(releases, name, rid)
    stopwatch.mark("2.0.3 (HANG_RATE=0.25) rolled back")

    reason = _assert_metric_reason(status, rid, "gateway-errors", started)
    assert reason["value"] > 0.05 and reason["bound"] == "<= 0.05", reason  # hung -> 504 UT at the gateway
    app = metric(status, "error-rate")
    assert app["verdict"] != "Fail" and (app.get("value") or 0.0) == 0.0, \
        f"the app never reports a hung request: {app}"
    seen = load.summary(traffic)
    assert seen["by_flags"].get("UT", 0) > 0, seen


# ---------------------------------------------------------------------------- a broken stable


@pytest.mark.integration
class _StatusRecorder:
    """Watches one Release and keeps every status it is given (a poll can miss a short-lived one)."""

    def __init__(self, releases: Releases, name: str) -> None:
        from kubernetes import watch
        self.statuses: list[dict[str, Any]] = []
        self._watch = watch.Watch()
        custom = releases.custom
        rv = releases.get(name)["metadata"]["resourceVersion"]

        self.error: Optional[BaseException] = None

        def run() -> None:
            try:
                for event in self._watch.stream(custom.list_namespaced_custom_object, "ripcord.dev", "v1alpha1",
                                                releases.ns, "releases", field_selector=f"metadata.name={name}",
                                                resource_version=rv, timeout_seconds=300):
                    self.statuses.append(event["object"].get("status") or {})
            except Exception as exc:  # noqa: BLE001 - the stream ends when stopped; kept for the failure message
                self.error = exc

        self._thread = threading.Thread(target=run, name=f"watch-{name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._watch.stop()
        self._thread.join(timeout=10)


def test_fix_is_promoted_while_the_stable_is_broken(releases: Releases, operator: Any, namespace: str, load: Load,
                                                    stopwatch: Stopwatch) -> None:
    """The stable fails 30% of requests; the fix fails none. Absolute bounds judge the canary
    alone, so the fix is promoted (a bound relative to this stable would prove nothing)."""
    name = "fix"
    analysis = {"metrics": [_errors("error-rate", "app"), _errors("gateway-errors", "gateway"),
                            {"name": "latency", "type": "latency", "judge": "threshold", "quantile": 0.99,
                             "max": 1.0}]}
    releases.apply(release_manifest(name, "1.1.0", env={"ERROR_RATE": "0.3", "SEED": "5"}, steps=STEPS,
                                    analysis=analysis))
    releases.wait_phase(name, "Stable", timeout=90)
    stopwatch.mark("broken 1.1.0 stable")
    traffic = load.start(name, rps=40)
    seen = _StatusRecorder(releases, name)  # every status the rollout writes, however briefly it lasts
    releases.apply(release_manifest(name, "1.1.1", steps=STEPS, analysis=analysis))
    rid = rollout_id(releases, name)
    status = releases.wait_outcome(name, "Promoted", rollout_id=rid, timeout=120)
    seen.stop()

    # while it ran, the analysis saw the broken stable beside the clean canary
    during = [metric(s, "error-rate") for s in seen.statuses
              if (metric(s, "error-rate").get("stableValue") or 0) > 0.15 and metric(s, "error-rate").get("verdict") == "Pass"]
    assert during, f"no analysis passed the canary beside the broken stable (watch error: {seen.error!r})"
    m = during[0]
    assert m["value"] == 0.0 and m["bound"] == "<= 0.05", m
    stopwatch.mark("1.1.1 promoted")

    h = entry(status, rid)
    assert status["stable"]["version"] == "1.1.1"
    assert h.get("reason") is None, h
    promoting = [t for t in h["timeline"] if t["event"] == "Promoting"]
    assert promoting and "every metric passed" in promoting[0]["message"], h["timeline"]
    assert [t["weight"] for t in h["timeline"] if t["event"] == "StepStarted"] == STEPS
    seen = load.summary(traffic)
    assert seen["failed_by_version"].get("1.1.1", 0) == 0 and seen["failed_by_version"].get("1.1.0", 0) > 0, seen


# ---------------------------------------------------------------------------- a Prometheus not allowed


@pytest.mark.integration
@pytest.mark.parametrize("ref,words", [
    ({"address": "http://10.1.2.3:9090"}, ["'http://10.1.2.3:9090'", "is not allowed"]),
    ({"name": "team-x"}, ["'team-x'", "not in the operator's configuration"]),
], ids=["address", "name"])
def test_a_prometheus_the_configuration_does_not_allow_is_refused(ref: dict[str, str], words: list[str],
                                                                  releases: Releases, operator: Any, namespace: str,
                                                                  kube: client.ApiClient, sandbox: Any,
                                                                  stopwatch: Stopwatch) -> None:
    name = "nope"
    body = release_manifest(name, "1.0.0", analysis={"metrics": [_errors()], "prometheus": ref})
    releases.apply(body)
    status = wait_status(releases, name, lambda s: condition(s, "Stalled").get("status") == "True", 60,
                         "the Stalled condition")
    stopwatch.mark("refused")
    stalled = condition(status, "Stalled")
    assert stalled["reason"] == "PrometheusNotAllowed", stalled
    for w in words:
        assert w in stalled["message"], stalled
    assert "allowed" in stalled["message"] and "default" in stalled["message"], stalled  # names what is allowed
    assert condition(status, "Ready")["status"] == "False"
    assert status.get("stable") is None and status.get("rollout") is None, status
    event = releases.wait_event(name, "PrometheusNotAllowed")
    assert event.type == "Warning" and words[0] in event.message, event
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    assert apps.list_namespaced_deployment(namespace).items == []
    assert [s.metadata.name for s in core.list_namespaced_service(namespace).items] == []
    routes = client.CustomObjectsApi(kube).list_namespaced_custom_object(
        ROUTE_GROUP, ROUTE_VERSION, namespace, "httproutes")["items"]
    assert routes == []

    # naming what the configuration allows (here its address, repeated exactly) is accepted
    body["spec"]["analysis"]["prometheus"] = {"address": sandbox.prometheus_url}
    releases.apply(body)
    status = releases.wait_phase(name, "Stable", timeout=90)
    stopwatch.mark("accepted once allowed")
    assert condition(status, "Stalled")["status"] == "False"
