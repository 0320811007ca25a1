"""Part (c): Prometheus hung (SIGSTOP) and the API server restarted in the middle of rollouts.

Each round starts a rollout on ``BENCH_OUTAGE_RELEASES`` Releases (default 4: half good,
half bad with 5xx on half the requests), under load. As soon as every rollout is in
flight, the sandbox's Prometheus is frozen for ``BENCH_OUTAGE_FREEZE_S`` seconds (default
45), and ``BENCH_OUTAGE_API_AFTER_S`` seconds into the freeze (default 5) the API server is
stopped (SIGTERM: its graceful shutdown takes up to 15 s) and started again. Prometheus stays
frozen for a while after the API server is back: longer than two steps and the
post-promotion watch, so an engine that moved on without evidence would promote then. Then Prometheus resumes and every
rollout must end: good ones promoted, bad ones rolled back. ``BENCH_OUTAGE_ROUNDS``
(default 2).

A sampler reads every Release's status twice a second and keeps the analysis a promotion
was decided on. A promotion is *without evidence* when it was decided while Prometheus
could not answer, or on an analysis taken then or that was not a Pass (:func:`.tally.without_evidence`).
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any, Optional

from kubernetes.client.exceptions import ApiException

import sandbox
from sandbox.faults import frozen_prometheus, restart_apiserver
from sandbox.layout import Paths

from .harness import Bench, analysis, bench_namespace, env_of, final_entry
from .receiver import Receiver
from .report import table
from .tally import Planned, Promotion, parse_time, promoting_time, without_evidence

OUTCOME_TIMEOUT_S = 240.0
DEADLINE_MARGIN_S = 4.0  # one analysis deadline (1.6 s at a 2 s interval) plus an interval


class Sampler(threading.Thread):
    """Polls the Releases' status; keeps what the analysis said when a promotion was seen."""

    def __init__(self, bench: Bench, names: list[str]) -> None:
        super().__init__(name="bench-outage-sampler", daemon=True)
        self.bench, self.names = bench, names
        self.stop = threading.Event()
        self.promoting: dict[tuple[str, int], tuple[Optional[str], Optional[float]]] = {}
        self.unavailable_seen: set[tuple[str, int]] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            for name in self.names:
                try:
                    st = self.bench.status(name)
                except Exception:  # noqa: BLE001 - the API server is down for a while, by design
                    continue
                ro, an = st.get("rollout") or {}, st.get("analysis") or {}
                key = (name, int(ro.get("id") or 0))
                if an.get("verdict") == "Unavailable" and ro:
                    self.unavailable_seen.add(key)
                if ro.get("state") == "Promoting" and key not in self.promoting:
                    at = an.get("at")
                    self.promoting[key] = (an.get("verdict"), parse_time(at) if at else None)
            self.stop.wait(0.5)


def _all_in_flight(b: Bench, names: list[str], versions: dict[str, str]) -> bool:
    for n in names:
        with contextlib.suppress(ApiException):
            st = b.status(n)
            if (st.get("canary") or {}).get("version") == versions[n] and st.get("rollout"):
                continue
        return False
    return True


def _wait(cond: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.25)


def run(sb: sandbox.Sandbox, paths: Paths, seed: int, releases: int, rounds: int, freeze_s: float,
        api_after_s: float, workdir: Path) -> dict[str, Any]:
    receiver = Receiver()
    ns = f"bench-outage-{seed % 100000}-{int(time.time()) % 100000}"
    names = [f"o{i}" for i in range(releases)]
    an = analysis()
    blind: list[tuple[float, float]] = []
    planned: list[Planned] = []
    api_down: list[float] = []
    operator_restarts = 0
    t_start = time.monotonic()
    try:
        with bench_namespace(sb, ns, workdir, receiver.url) as b:
            b.start_operator()
            for n in names:
                b.apply(n, "1.0.0", {}, an)
            b.wait_stable(names)
            for n in names:
                b.start_load(n)
            time.sleep(5)
            sampler = Sampler(b, names)
            sampler.start()
            for r in range(rounds):
                row = [Planned(n, f"4.{i}.{r + 1}", bad=(i + r + seed) % 2 == 1,
                               kind="errors" if (i + r + seed) % 2 == 1 else "good") for i, n in enumerate(names)]
                planned += row
                for p in row:
                    b.apply(p.release, p.version, env_of(p), an)
                _wait(lambda: _all_in_flight(b, names, {p.release: p.version for p in row}), 120,
                      "every rollout of the round in flight")
                with frozen_prometheus(paths):
                    frozen_at = time.time()
                    time.sleep(api_after_s)
                    api_down.append(restart_apiserver(paths))
                    time.sleep(max(0.0, freeze_s - (time.time() - frozen_at)))
                    thawed_at = time.time()
                blind.append((frozen_at + DEADLINE_MARGIN_S, thawed_at))
                deadline = time.monotonic() + OUTCOME_TIMEOUT_S
                while any(final_entry(b, p.release, p.version) is None for p in row) and time.monotonic() < deadline:
                    if b.operator_exited():  # as Kubernetes would restart it
                        operator_restarts += 1
                        b.start_operator()
                    time.sleep(0.5)
            sampler.stop.set()
            sampler.join(timeout=10)
            entries = {p.version: final_entry(b, p.release, p.version) for p in planned}
    finally:
        receiver.close()
    total_s = time.monotonic() - t_start

    wrong, unfinished, without, promotions, unavailable_rollbacks = [], 0, [], 0, 0
    for p in planned:
        e = entries[p.version]
        if e is None:
            unfinished += 1
            continue
        outcome = e.get("outcome")
        if (p.bad and outcome == "Promoted") or (not p.bad and outcome != "Promoted"):
            wrong.append(f"{p.release} {p.version} ({'bad' if p.bad else 'good'}) -> {outcome}: "
                         f"{(e.get('reason') or {}).get('message', '')}"[:300])
        if (e.get("reason") or {}).get("kind") == "MetricsUnavailable":
            unavailable_rollbacks += 1
        if outcome == "Promoted":
            promotions += 1
            at = promoting_time(e)
            verdict, an_at = sampler.promoting.get((p.release, int(e["id"])), (None, None))
            promo = Promotion(p.release, int(e["id"]), at if at is not None else 0.0, verdict, an_at)
            if without_evidence(promo, blind):
                without.append(f"{p.release} rollout {e['id']} ({p.version}): promoting at {at}, "
                               f"on analysis {verdict} at {an_at}")
    seen = len({k for k in sampler.unavailable_seen})
    figures = {
        "outage_rollouts": len(planned), "outage_promotions": promotions,
        "outage_promotions_without_evidence": len(without),
        "outage_wrong_outcomes": len(wrong), "outage_unfinished": unfinished,
        "outage_all_ended_correctly": not wrong and unfinished == 0,
        "outage_metrics_unavailable_rollbacks": unavailable_rollbacks,
        "outage_rollouts_seen_unavailable": seen,
        "outage_operator_restarts": operator_restarts,
        "outage_apiserver_down_seconds_max": round(max(api_down), 1) if api_down else None,
    }
    rows: list[tuple[str, Any]] = list(figures.items())
    rows += [("rounds x releases", f"{rounds} x {releases}"), ("Prometheus frozen (s)", f"{freeze_s:g}"),
             ("API server restarted after (s)", f"{api_after_s:g}"), ("part total (s)", f"{total_s:.0f}")]
    print(table("outage: Prometheus hung and API server restarted mid-rollout", rows), flush=True)
    for line in wrong + without:
        print(f"  {line}", flush=True)
    return figures


def main() -> dict[str, Any]:
    sb = sandbox.connect()
    seed = int(os.environ.get("BENCH_SEED", "20260701"))
    workdir = Path(os.environ.get("BENCH_WORKDIR", "build/bench-robustness")) / "outage"
    return run(sb, Paths.default(), seed, int(os.environ.get("BENCH_OUTAGE_RELEASES", "4")),
               int(os.environ.get("BENCH_OUTAGE_ROUNDS", "2")), float(os.environ.get("BENCH_OUTAGE_FREEZE_S", "45")),
               float(os.environ.get("BENCH_OUTAGE_API_AFTER_S", "5")), workdir)


if __name__ == "__main__":
    import json
    print(json.dumps(main()))
