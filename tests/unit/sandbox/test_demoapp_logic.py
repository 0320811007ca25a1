"""The demo app's request logic: versions, knobs, metrics (no sockets)."""

from __future__ import annotations

import pytest

from sandbox.demoapp import HEALTH_BUG, STATUS_BUG, App, Knobs, count_run, crashes_this_run


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def app(version: str = "1.0.0", clock: Clock | None = None, **knobs) -> App:
    return App(version, Knobs(**knobs), clock=clock or Clock())


@pytest.mark.parametrize("version", ["1.0.0", "2.0.1", "3.1.4"])
def test_good_versions_answer_200(version: str) -> None:
    a = app(version)
    for path in ("/health", "/api/status"):
        ans = a.answer(path)
        assert ans.code == 200 and version.encode() in ans.body


def test_2_0_0_reproduces_the_seed_bugs() -> None:
    a = app("2.0.0")
    assert (a.answer("/health").code, a.answer("/health").body.decode()) == (500, HEALTH_BUG)
    assert (a.answer("/api/status").code, a.answer("/api/status").body.decode()) == (500, STATUS_BUG)
    assert HEALTH_BUG == "TypeError: Cannot read property 'toString' of undefined"
    assert STATUS_BUG == "Error: Database connection failed"


def test_readiness_does_not_depend_on_health() -> None:
    assert app("2.0.0").answer("/ready").code == 200


def test_slow_start_and_ready_fail() -> None:
    clock = Clock()
    a = app(clock=clock, slow_start_s=5)
    assert a.answer("/ready").code == 503
    clock.t += 5.1
    assert a.answer("/ready").code == 200
    assert app(ready_fail=True).answer("/ready").code == 503


def test_error_rate_is_seeded_and_close_to_the_knob() -> None:
    a, b = app(error_rate=0.2, seed=7), app(error_rate=0.2, seed=7)
    seq_a = [a.answer("/api/status").code for _ in range(2000)]
    seq_b = [b.answer("/api/status").code for _ in range(2000)]
    assert seq_a == seq_b
    share = seq_a.count(500) / len(seq_a)
    assert 0.17 < share < 0.23


def test_a_seed_salt_gives_each_replica_its_own_sequence() -> None:
    def seq(**knobs) -> list[int]:
        a = app(error_rate=0.2, **knobs)
        return [a.answer("/api/status").code for _ in range(500)]

    assert seq(seed=7, seed_salt="web-a-1") == seq(seed=7, seed_salt="web-a-1")  # still reproducible
    assert seq(seed=7, seed_salt="web-a-1") != seq(seed=7, seed_salt="web-a-2")
    assert seq(seed=7, seed_salt="") == seq(seed=7)
    assert Knobs.from_env({"SEED": "7", "SEED_SALT": " web-a-1 "}).seed_salt == "web-a-1"


def test_hang_and_latency_knobs() -> None:
    hung = [app(hang_rate=1.0).answer("/health").hang for _ in range(3)]
    assert all(hung)
    assert not app(hang_rate=1.0).answer("/ready").hang  # probes and scrapes never hang
    ans = app(latency_ms=40, latency_jitter_ms=10, seed=1).answer("/api/status")
    assert 0.030 <= ans.delay_s <= 0.050


def test_reset_knob_resets_app_paths_only() -> None:
    a = app(reset_rate=1.0)
    assert all(a.answer(p).reset for p in ("/health", "/api/status"))
    assert not a.answer("/ready").reset and not a.answer("/metrics").reset  # probes and scrapes never
    b = app(reset_rate=0.3, seed=4)
    share = sum(b.answer("/api/status").reset for _ in range(2000)) / 2000
    assert 0.26 < share < 0.34


def test_refuse_and_probe_port_knobs() -> None:
    k = Knobs.from_env({"REFUSE_TRAFFIC": "1", "PROBE_PORT": "8081", "RESET_RATE": "0.5"})
    assert (k.refuse_traffic, k.probe_port, k.reset_rate) == (True, 8081, 0.5)
    with pytest.raises(SystemExit, match="PROBE_PORT"):  # nothing would listen at all
        Knobs.from_env({"REFUSE_TRAFFIC": "1"})
    with pytest.raises(SystemExit):
        Knobs.from_env({"RESET_RATE": "1.5"})


def test_knobs_from_env_validate() -> None:
    k = Knobs.from_env({"ERROR_RATE": "0.5", "READY_FAIL": "1", "SEED": "3", "LATENCY_MS": ""})
    assert (k.error_rate, k.ready_fail, k.seed, k.latency_ms) == (0.5, True, 3, 0.0)
    with pytest.raises(SystemExit):
        Knobs.from_env({"ERROR_RATE": "2"})
    with pytest.raises(SystemExit):
        Knobs.from_env({"HANG_RATE": "lots"})


def test_metrics_follow_the_design_contract() -> None:
    a = app("2.0.0")
    a.observe("GET", "/health", 500, 0.003)
    a.observe("GET", "/api/status", 500, 0.2)
    a.observe("GET", "/favicon.ico", 404, 0.001)
    text = a.answer("/metrics").body.decode()
    assert 'http_requests_total{code="500",method="GET",path="/health"} 1.0' in text
    assert 'http_requests_total{code="404",method="GET",path="other"} 1.0' in text
    buckets = [line.split('le="')[1].split('"')[0] for line in text.splitlines()
               if line.startswith("http_request_duration_seconds_bucket") and 'path="/health"' in line]
    assert buckets == ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"]
    assert "_created" not in text


def test_crash_times_counts_runs_across_restarts(tmp_path) -> None:
    k = Knobs.from_env({"CRASH_AFTER_S": "5", "CRASH_TIMES": "1"})
    runs = [count_run(tmp_path) for _ in range(3)]  # the container restarted twice in the same pod directory
    assert runs == [1, 2, 3]
    assert [crashes_this_run(k, r) for r in runs] == [True, False, False]
    always = Knobs.from_env({"CRASH_AFTER_S": "5"})
    assert all(crashes_this_run(always, r) for r in runs)
    assert not crashes_this_run(Knobs(), 1)
    with pytest.raises(SystemExit):
        Knobs.from_env({"CRASH_TIMES": "-1"})
