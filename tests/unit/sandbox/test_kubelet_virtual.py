"""Virtual pods' pure parts: knobs, probe timing, synthesised counters, the exposition."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sandbox import images
from sandbox.demoapp import BUCKETS, Knobs
from sandbox.kubelet.virtual import (KnobError, VirtualApp, VirtualKnobs, VirtualPods, exposition, ready_after,
                                     started_after)

TARGET = {"job": "pods", "instance": "127.101.0.7:8080", "namespace": "shop", "pod": "web-a-5d9c7-x2x4q",
          "workload": "web-a", "pod_template_hash": "5d9c7", "label_app": "web", "label_ripcord_dev_slot": "a"}


def _app(version: str = "1.0.0", rng_seed: int = 1, **env: str) -> VirtualApp:
    return VirtualApp(version, VirtualKnobs.from_env(env), 0.0, np.random.default_rng(rng_seed))


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_the_virtual_image_is_in_the_table_and_runs_no_process() -> None:
    assert images.is_virtual("ripcord/virtual-app:1.0.0")
    assert images.is_virtual("docker.io/ripcord/virtual-app:2.0.0")
    assert not images.is_virtual("ripcord/demo-app:1.0.0")
    assert not images.is_virtual("nginx:1.25")


def test_knobs_are_the_demo_apps_plus_a_request_rate() -> None:
    k = VirtualKnobs.from_env({"ERROR_RATE": "0.1", "LATENCY_MS": "300", "REQUEST_RATE": "25"})
    assert k.request_rate == 25 and k.app.error_rate == 0.1 and k.app.latency_ms == 300
    assert VirtualKnobs.from_env({}).request_rate == 10
    with pytest.raises(KnobError, match="REQUEST_RATE"):
        VirtualKnobs.from_env({"REQUEST_RATE": "lots"})
    with pytest.raises(KnobError, match="REQUEST_RATE"):
        VirtualKnobs.from_env({"REQUEST_RATE": "-1"})
    with pytest.raises(KnobError, match="ERROR_RATE"):
        VirtualKnobs.from_env({"ERROR_RATE": "2"})


@pytest.mark.parametrize("container, knobs, expected", [
    ({}, Knobs(), 0.0),  # no readiness probe: Ready once started
    ({"readinessProbe": {"periodSeconds": 1}}, Knobs(), 0.0),  # the first probe, at once, passes
    ({"readinessProbe": {"initialDelaySeconds": 3, "periodSeconds": 1}}, Knobs(), 3.0),
    ({"readinessProbe": {"periodSeconds": 2, "successThreshold": 3}}, Knobs(), 4.0),
    ({"readinessProbe": {"periodSeconds": 2}}, Knobs(slow_start_s=5), 6.0),  # probes at 0, 2, 4 fail; 6 passes
    ({"readinessProbe": {"periodSeconds": 1}}, Knobs(ready_fail=True), None),
    ({}, Knobs(ready_fail=True), 0.0),  # nothing probes /ready
    ({"startupProbe": {"initialDelaySeconds": 4}, "readinessProbe": {"periodSeconds": 1}}, Knobs(), 4.0),
])
def test_ready_when_the_readiness_probe_would_first_pass(container: dict, knobs: Knobs,
                                                         expected: float | None) -> None:
    assert ready_after(container, knobs) == expected


def test_started_after_the_startup_probes_initial_delay() -> None:
    assert started_after({}) == 0
    assert started_after({"startupProbe": {"initialDelaySeconds": 4, "periodSeconds": 1}}) == 4


def test_counters_grow_at_the_request_rate_and_never_go_back() -> None:
    app = _app(REQUEST_RATE="20")
    seen = []
    for t in range(1, 61):
        app.advance(float(t))
        seen.append((app.codes.get("200", 0), app.count, app.total_s))
    app.advance(30.0)  # a clock going back adds nothing
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)
    assert [s[2] for s in seen] == sorted(s[2] for s in seen)
    assert app.codes.get("200", 0) == app.count == seen[-1][1]
    assert abs(app.count - 1200) < 5 * math.sqrt(1200)  # Poisson, 20/s for 60 s
    assert "500" not in app.codes  # no error series before the first error, as with prometheus_client


def test_error_rate_bad_version_and_hangs() -> None:
    flaky = _app(ERROR_RATE="0.2", REQUEST_RATE="100")
    flaky.advance(100.0)
    share = flaky.codes["500"] / flaky.count
    assert 0.18 < share < 0.22
    bad = _app("2.0.0")
    bad.advance(100.0)
    assert bad.codes == {"500": bad.count} and bad.count > 0
    hung = _app(HANG_RATE="0.5", REQUEST_RATE="100")
    hung.advance(100.0)
    assert 4500 < hung.count < 5500  # hung requests are never answered, so never counted


def test_latency_lands_in_the_demo_apps_buckets() -> None:
    fast, slow = _app(REQUEST_RATE="100"), _app(LATENCY_MS="300", REQUEST_RATE="100")
    for app in (fast, slow):
        app.advance(50.0)
        assert int(app.buckets.sum()) == app.count
    assert fast.total_s / fast.count < 0.01
    le_025 = BUCKETS.index(0.25)
    assert slow.buckets[: le_025 + 1].sum() == 0  # every answer took > 300 ms
    assert 0.3 < slow.total_s / slow.count < 0.31


def test_seed_makes_the_draws_reproducible_and_the_salt_varies_them() -> None:
    def counts(salt: str) -> int:
        app = VirtualApp.start("1.0.0", VirtualKnobs.from_env({"SEED": "7", "SEED_SALT": salt}), 0.0)
        app.advance(10.0)
        return app.count
    assert counts("web-a-1") == counts("web-a-1")
    assert len({counts(f"web-a-{i}") for i in range(8)}) > 1


def test_exposition_carries_the_pods_target_labels_and_cumulative_buckets() -> None:
    app = _app(ERROR_RATE="0.5", REQUEST_RATE="50")
    app.advance(10.0)
    got = _samples(exposition([(TARGET, app)]))
    base = frozenset(TARGET.items())
    req = base | {("method", "GET"), ("path", "/api/status")}
    assert got[("http_requests_total", req | {("code", "200")})] == app.codes["200"]
    assert got[("http_requests_total", req | {("code", "500")})] == app.codes["500"]
    buckets = [got[("http_request_duration_seconds_bucket", req | {("le", le)})]
               for le in [*(repr(float(b)) for b in BUCKETS), "+Inf"]]
    assert buckets == sorted(buckets) and buckets[-1] == app.count
    assert got[("http_request_duration_seconds_count", req)] == app.count
    assert got[("http_request_duration_seconds_sum", req)] == pytest.approx(app.total_s)


def test_label_values_are_escaped() -> None:
    odd = {**TARGET, "label_note": 'say "hi"\\n'}
    got = _samples(exposition([(odd, _app())]))
    assert any(dict(labels).get("label_note") == 'say "hi"\\n' for _, labels in got)


def test_registry_serves_running_apps_only_and_a_restart_starts_from_zero() -> None:
    now = [0.0]
    pods = VirtualPods(clock=lambda: now[0])
    labels: dict[str, dict[str, str] | None] = {"a": TARGET, "b": None}
    first = _app(REQUEST_RATE="100")
    pods.add("uid/app/virtual-0", lambda: labels["a"], first)
    pods.add("uid2/app/virtual-0", lambda: labels["b"], _app())  # prometheus.io/scrape: "false"
    now[0] = 10.0
    before = _samples(pods.render())
    count = frozenset(TARGET.items()) | {("method", "GET"), ("path", "/api/status")}
    assert before[("http_request_duration_seconds_count", count)] > 500
    assert all(dict(k[1]).get("pod") == TARGET["pod"] for k in before)
    pods.remove("uid/app/virtual-0")
    assert not _samples(pods.render())  # a stopped container's series are gone
    pods.add("uid/app/virtual-1", lambda: labels["a"], VirtualApp("1.0.0", VirtualKnobs.from_env({}), 10.0,
                                                                   np.random.default_rng(3)))
    now[0] = 11.0
    after = _samples(pods.render())
    assert after[("http_request_duration_seconds_count", count)] < before[("http_request_duration_seconds_count", count)]


def test_prometheus_scrapes_the_virtual_pods_endpoint_with_honor_labels(tmp_path: Path) -> None:
    from sandbox import prometheus
    from sandbox.layout import KUBELET_PORT, Paths
    paths = Paths(tmp_path)
    job = next(j for j in prometheus.config(paths)["scrape_configs"] if j["job_name"] == prometheus.VIRTUAL_JOB)
    assert job["honor_labels"] is True and job["metrics_path"] == "/metrics/virtual"
    assert job["scrape_interval"] == f"{prometheus.VIRTUAL_SCRAPE_INTERVAL_S}s"
    assert job["static_configs"] == [{"targets": [f"127.0.0.1:{KUBELET_PORT}"]}]
    assert job["tls_config"] == {"ca_file": str(tmp_path / "pki" / "ca.crt")}
    assert prometheus.write_config(paths) is True
    assert prometheus.write_config(paths) is False  # unchanged: a running Prometheus needs no reload
