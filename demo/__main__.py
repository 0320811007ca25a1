"""``python -m demo [--provider gateway-api|replicas] [--ci]``."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

from sandbox import SandboxError

from . import report
from .console import Console, DemoError
from .release import JUDGES, SHAPES
from .scenario import FIXED, FAULTY, Result, Settings, run

CI_BASELINE_DELAY_S = 10.0
CI_TAIL_S = 20.0


def parse(argv: Optional[list[str]]) -> Settings:
    p = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    p.add_argument("--provider", choices=sorted(SHAPES), default=os.environ.get("PROVIDER") or "gateway-api",
                   help="traffic provider of the Release (default: $PROVIDER or gateway-api)")
    p.add_argument("--ci", action="store_true",
                   help=f"shortened: baseline undo after {CI_BASELINE_DELAY_S:g} s of failing health checks, "
                        f"{CI_TAIL_S:g} s window tail; exits non-zero unless {FAULTY} is RolledBack and {FIXED} "
                        f"Promoted, with and without the pre-traffic gate")
    p.add_argument("--namespace", default="ripcord-demo", help="reset at the start of the run (default: ripcord-demo)")
    p.add_argument("--judge", choices=JUDGES, default=os.environ.get("JUDGE") or "threshold",
                   help="judge of the error-rate metric (default: threshold; sequential cannot promote "
                        "a canary when neither side has any error: see demo.release.analysis)")
    p.add_argument("--baseline-delay", type=float, default=None, help="seconds of failing health checks before the undo (default 45)")
    p.add_argument("--tail", type=float, default=None, help="seconds the window runs after the later detection (default 60)")
    p.add_argument("--out", type=Path, default=Path("out") / "demo", help="where the chart and the run's data go")
    a = p.parse_args(argv)
    delay = a.baseline_delay if a.baseline_delay is not None else (CI_BASELINE_DELAY_S if a.ci else 45.0)
    tail = a.tail if a.tail is not None else (CI_TAIL_S if a.ci else 60.0)
    return Settings(provider=a.provider, namespace=a.namespace, baseline_delay_s=delay, tail_s=tail,
                    judge=a.judge, out_dir=a.out.resolve(), ci=a.ci)


def save(result: Result, path: Path) -> None:
    """The run's raw data (Release status, both records), for a closer look or a re-plot."""
    path.write_text(json.dumps({
        "settings": {k: str(v) for k, v in vars(result.settings).items()},
        "ripcord_released_at": result.ripcord_released_at, "baseline_released_at": result.baseline_released_at,
        "baseline_health_failed_at": result.baseline_health_failed_at, "baseline_undo_at": result.baseline_undo_at,
        "window_s": result.window_s, "status": result.status,
        "ripcord_rows": result.ripcord_rows, "baseline_rows": result.baseline_rows,
        "gated_released_at": result.gated_released_at, "gated_status": result.gated_status,
        "gated_rows": result.gated_rows,
    }, indent=1))


def main(argv: Optional[list[str]] = None) -> int:
    settings = parse(argv)
    console = Console()
    t0 = time.monotonic()
    try:
        result = run(settings, console)
    except (DemoError, SandboxError) as e:
        console.say(f"\ndemo failed: {e}")
        return 2
    except KeyboardInterrupt:
        console.say("\ninterrupted (the loads and the operator this run started were stopped)")
        return 130
    save(result, settings.out_dir / f"run-{settings.provider}.json")
    rep = report.build(result)
    console.say(rep.text)
    problems = report.outcomes_ok(result)
    console.say(f"\nDemo took {time.monotonic() - t0:.0f} s. Outcomes: {FAULTY} "
                f"{result.faulty_entry.get('outcome')}, {FIXED} {result.fixed_entry.get('outcome')}; with the gate: "
                f"{FAULTY} {result.gated_faulty_entry.get('outcome')}, {FIXED} {result.gated_fixed_entry.get('outcome')}"
                + ("" if not problems else f"  <- NOT AS EXPECTED: {'; '.join(problems)}"))
    console.say(report.json_line(rep.summary))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
