"""``python -m bench.scale`` (``make bench-scale``): see ``bench/scale/settings.py`` for the
environment and ``docs/performance.md`` for what each figure means. Progress goes to stderr;
the tables, then one JSON line (the last line), to stdout."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import sandbox
from sandbox.releases import install_ripcord

from . import phases, report
from .operator_process import OperatorUnderTest
from .scenario import Scenario, rollout_refs
from .settings import Settings, SettingsError, from_env
from .sources import ApiServer

INSTALL_TIMEOUT_S = 1800.0
SETTLE_S = 15.0  # after the last install, before counting: the last pods' status writes
WARM_UP_TIMEOUT_S = 180.0


def echo(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(settings: Settings, workdir: Path) -> int:
    t_start = time.monotonic()
    sb = sandbox.ensure_up(echo=echo)
    install_ripcord(sb.admin_kubeconfig)
    kube = sb.api_client()
    scenario = Scenario(kube, settings.namespaces)
    scenario.ensure_namespaces()
    apiserver = ApiServer(sb)
    operator: Optional[OperatorUnderTest] = None
    rows: list[report.Row] = []
    mixes: list[str] = []

    starts = iter(range(1_000_000))

    def start_operator() -> OperatorUnderTest:
        return OperatorUnderTest(sb, scenario.namespace_names(), workdir / f"operator-{next(starts)}").start()

    try:
        operator = start_operator()
        for round_, config in enumerate(settings.configurations, 1):
            echo(f"== {config.at_rest} Releases at rest + {config.rolling} rolling out "
                 f"({time.monotonic() - t_start:.0f}s into the run)")
            made = scenario.install(config.releases, echo=echo)
            took = scenario.wait_at_rest(config.releases, INSTALL_TIMEOUT_S, echo=echo)
            echo(f"  {made} Releases created; all {config.releases} at rest after {took:.0f}s")
            time.sleep(SETTLE_S)

            operator.stop()
            echo(f"  background (no operator) for {settings.window_s:.0f}s")
            background = phases.measure_background(apiserver, sb.prometheus_url, settings.window_s)
            operator = start_operator()
            warm = phases.warm_up(operator, config.releases, WARM_UP_TIMEOUT_S, echo)
            echo(f"  operator restarted and warm after {warm:.0f}s; at rest for {settings.window_s:.0f}s")
            at_rest = phases.measure_at_rest(operator, apiserver, sb.prometheus_url, config.releases,
                                             settings.window_s, background)
            rolling = None
            if config.rolling:
                echo(f"  {config.rolling} rollouts at once")
                rolling = phases.measure_rolling(scenario, operator, apiserver, sb.prometheus_url,
                                                 rollout_refs(scenario, config.rolling), config.at_rest, round_,
                                                 settings.bad_every, settings.rollout_timeout_s, echo)
                echo(f"  {phases.expected_outcomes(rolling.results)}: "
                     f"{sum(r.correct for r in rolling.results)} correct in {rolling.window.seconds:.0f}s")
            rows.append(report.row(config, at_rest, rolling))
            mixes.append(report.mix_table(config, report.request_mix(at_rest)))
            if not operator.running():
                echo("  the operator died; stopping here")
                break
    finally:
        if operator is not None:
            operator.stop()
        if not settings.keep:
            echo("deleting the benchmark's namespaces")
            scenario.delete_all()
    elapsed = time.monotonic() - t_start
    if not rows:
        echo("no configuration finished")
        return 1
    print(report.table(rows))
    print()
    print("\n\n".join(mixes))
    print()
    print(f"operator logs: {workdir}; elapsed {elapsed:.0f} s")
    largest = max((r.config for r in rows), key=lambda c: (c.releases, c.rolling))
    print(json.dumps(report.summary(rows, largest, elapsed)))
    return 0


def main() -> int:
    try:
        settings = from_env(os.environ)
    except SettingsError as e:
        echo(str(e))
        return 2
    workdir = Path(os.environ.get("BENCH_OUT", "build/bench-scale")).resolve()
    echo(f"bench-scale: {', '.join(map(str, settings.configurations))} (at rest + rolling), "
         f"{settings.window_s:.0f}s windows, every {settings.bad_every}th rollout bad")
    return run(settings, workdir)


if __name__ == "__main__":
    raise SystemExit(main())
