"""Part (b): SIGKILL the operator at seeded random moments while many rollouts run.

``BENCH_CHAOS_RELEASES`` Releases (default 6) each run ``BENCH_CHAOS_PER_RELEASE``
rollouts (default 9) one after the other, all Releases in parallel, under load through the
sandbox gateway; half of all rollouts are bad (5xx on half the requests, or a process that
exits after 4 s). Meanwhile the operator is SIGKILLed every ``BENCH_CHAOS_KILL_GAP`` seconds
(default ``3,10``: uniform, seeded by ``BENCH_SEED``) and started again at once, as a
Deployment's restart would. A local receiver counts webhook deliveries per idempotency key.

A Release whose rollout has not ended within ``ROLLOUT_TIMEOUT_S`` starts no further
rollout (a new one would supersede it). When the kills stop, every rollout gets
``FINISH_GRACE_S`` more to end with the operator left alone; one that still has no outcome
then is a lost history entry, and its status is printed.

Figures: wrong outcomes (bad promoted, good not promoted), lost history entries, lost and
duplicated notifications (see :mod:`.tally`).
"""
from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any, Optional

import sandbox

from .harness import Bench, analysis, bench_namespace, env_of, final_entry
from .receiver import Receiver
from .report import table
from .tally import Planned, expected_keys, kill_gaps, plan_rollouts, score

ROLLOUT_TIMEOUT_S = 240.0
FINISH_GRACE_S = 180.0
NOTIFY_GRACE_S = 20.0


def _floats(text: str) -> tuple[float, float]:
    lo, hi = (float(x) for x in text.split(","))
    return lo, hi


class Killer(threading.Thread):
    """SIGKILLs the operator at seeded gaps and restarts it; restarts it too if it exits by itself."""

    def __init__(self, bench: Bench, seed: int, gap: tuple[float, float]) -> None:
        super().__init__(name="bench-chaos-killer", daemon=True)
        self.bench, self.gaps = bench, kill_gaps(seed, *gap)
        self.stop = threading.Event()
        self.kills = 0
        self.crashes = 0  # exits the bench did not cause

    def run(self) -> None:
        next_kill = time.monotonic() + next(self.gaps)
        while not self.stop.is_set():
            if self.bench.operator_exited():
                self.crashes += 1
                self.bench.start_operator()
            if time.monotonic() >= next_kill:
                self.bench.kill_operator()
                self.kills += 1
                self.bench.start_operator()
                next_kill = time.monotonic() + next(self.gaps)
            self.stop.wait(0.1)


def _drive(bench: Bench, row: list[Planned], an: dict[str, Any], applied: list[Planned],
           done: dict[str, float]) -> None:
    """Start each planned rollout once the one before it has ended; stop at one that does not end."""
    for p in row:
        t0 = time.monotonic()
        deadline = t0 + ROLLOUT_TIMEOUT_S
        while True:  # the API server may refuse for a moment; the apply must happen
            try:
                bench.apply(p.release, p.version, env_of(p), an)
                break
            except Exception:  # noqa: BLE001
                if time.monotonic() > deadline:
                    return
                time.sleep(0.5)
        applied.append(p)
        while final_entry(bench, p.release, p.version) is None:
            if time.monotonic() > deadline:
                return  # the rest of this Release's plan is not started: it would supersede this one
            time.sleep(0.5)
        done[p.version] = time.monotonic() - t0


def _describe(bench: Bench, name: str) -> str:
    """Where a Release stands, for a rollout that did not end."""
    try:
        st = bench.status(name)
    except Exception as e:  # noqa: BLE001
        return f"{name}: status unreadable: {e}"[:300]
    ro, an = st.get("rollout") or {}, st.get("analysis") or {}
    metrics = "; ".join(str(m.get("message", ""))[:120] for m in an.get("metrics") or [])
    return (f"{name}: phase {st.get('phase')}, rollout {ro.get('id')} {ro.get('state')} step {ro.get('step')} "
            f"weight {ro.get('weight')} settled {ro.get('settledAt')}, analysis {an.get('verdict')} "
            f"({metrics}); {st.get('message')}")[:600]


def run(sb: sandbox.Sandbox, seed: int, releases: int, per_release: int, gap: tuple[float, float],
        workdir: Path) -> dict[str, Any]:
    receiver = Receiver()
    ns = f"bench-chaos-{seed % 100000}-{int(time.time()) % 100000}"
    names = [f"c{i}" for i in range(releases)]
    plans = plan_rollouts(seed, names, per_release)
    an = analysis()
    t_start = time.monotonic()
    try:
        with bench_namespace(sb, ns, workdir, receiver.url) as b:
            b.start_operator()
            for n in names:
                b.apply(n, "1.0.0", {}, an)
            b.wait_stable(names)
            for n in names:
                b.start_load(n)
            time.sleep(5)  # a few scrapes of the stable under load
            t_rollouts = time.monotonic()
            killer = Killer(b, seed, gap)
            done: dict[str, float] = {}
            applied: list[Planned] = []
            drivers = [threading.Thread(target=_drive, args=(b, row, an, applied, done), daemon=True)
                       for row in plans]
            killer.start()
            for d in drivers:
                d.start()
            for d in drivers:
                d.join()
            killer.stop.set()
            killer.join(timeout=30)
            rollouts_s = time.monotonic() - t_rollouts
            if b.operator is None or b.operator_exited():
                b.start_operator()
            unfinished = [p for p in applied if final_entry(b, p.release, p.version) is None]
            deadline = time.monotonic() + FINISH_GRACE_S  # the kills are over: time to finish
            while unfinished and time.monotonic() < deadline:
                time.sleep(1)
                unfinished = [p for p in unfinished if final_entry(b, p.release, p.version) is None]
            stuck = [_describe(b, p.release) for p in unfinished]
            statuses = {n: b.status(n) for n in names}
            uids = {n: b.uid(n) for n in names}
            histories = {n: s.get("history") or [] for n, s in statuses.items()}
            expected = [k for row in plans for p in row
                        for e in [next((h for h in histories[p.release] if h.get("version") == p.version), None)]
                        if e is not None for k in expected_keys(ns, p.release, uids[p.release], e)]
            receiver.wait_for(expected, NOTIFY_GRACE_S)  # retries in flight may still land
            s = score(applied, ns, histories, uids, receiver.counts())
    finally:
        receiver.close()
    total_s = time.monotonic() - t_start
    figures = {
        "chaos_rollouts": s.rollouts, "chaos_bad_rollouts": sum(p.bad for p in applied),
        "chaos_planned_not_started": sum(len(row) for row in plans) - len(applied),
        "chaos_ended_after_the_kills": sum(1 for p in applied if p.version not in done) - s.lost_history,
        "chaos_kills": killer.kills, "chaos_operator_crashes": killer.crashes,
        "chaos_wrong_outcomes": s.wrong_outcomes, "chaos_lost_history": s.lost_history,
        "chaos_expected_notifications": s.expected_notifications,
        "chaos_lost_notifications": s.lost_notifications,
        "chaos_duplicate_notifications": s.duplicate_notifications,
        "chaos_rollouts_seconds": round(rollouts_s, 1),
        "chaos_rollout_median_seconds": round(statistics.median(done.values()), 1) if done else None,
    }
    rows: list[tuple[str, Any]] = [(k, v) for k, v in figures.items()]
    rows += [(f"outcome: {k}", v) for k, v in sorted(s.outcomes.items())]
    rows += [(f"lost notifications: {k}", v) for k, v in sorted(s.lost_by_event.items())]
    rows += [("seed", seed), ("releases x rollouts", f"{releases} x {per_release}"),
             ("kill gap (s)", f"{gap[0]:g}-{gap[1]:g}"), ("part total (s)", f"{total_s:.0f}")]
    print(table("chaos: operator SIGKILLed during rollouts", rows), flush=True)
    for line in s.wrong[:20]:
        print(f"  wrong: {line}", flush=True)
    for line in stuck:
        print(f"  no outcome: {line}", flush=True)
    return figures


def main() -> dict[str, Any]:
    sb = sandbox.connect()
    seed = int(os.environ.get("BENCH_SEED", "20260701"))
    workdir = Path(os.environ.get("BENCH_WORKDIR", "build/bench-robustness")) / "chaos"
    return run(sb, seed, int(os.environ.get("BENCH_CHAOS_RELEASES", "6")),
               int(os.environ.get("BENCH_CHAOS_PER_RELEASE", "9")),
               _floats(os.environ.get("BENCH_CHAOS_KILL_GAP", "3,10")), workdir)


if __name__ == "__main__":
    import json
    print(json.dumps(main()))
