"""``python -m bench.robustness``: run the parts named by ``BENCH_PARTS`` on the sandbox.

``BENCH_PARTS`` (default ``fuzz,chaos,outage``; a part whose module is absent is skipped
with a note), ``BENCH_SEED``; each part reads its own settings (see its module). The
sandbox must be running (``make sandbox-up``). Prints each part's table, then one JSON line.
"""
from __future__ import annotations

import importlib
import os
import sys
import time
from typing import Any

from .report import last_line, merge

DEFAULT_PARTS = "fuzz,chaos,outage"


def main() -> int:
    parts = [p.strip() for p in os.environ.get("BENCH_PARTS", DEFAULT_PARTS).split(",") if p.strip()]
    results: list[dict[str, Any]] = []
    for part in parts:
        try:
            module = importlib.import_module(f"bench.robustness.{part}")
        except ModuleNotFoundError as e:
            if e.name != f"bench.robustness.{part}":
                raise
            print(f"[bench-robustness] part {part!r}: no module bench/robustness/{part}.py; skipped", flush=True)
            continue
        t0 = time.monotonic()
        figures = module.main()
        figures[f"{part}_seconds"] = round(time.monotonic() - t0, 1)
        results.append(figures)
        print(flush=True)
    print(last_line(merge(results)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
