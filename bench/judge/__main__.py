"""``python -m bench.judge``: the judge benchmark (``make bench-judge``).

Environment: ``BENCH_RUNS`` (runs per cell, default 2000; 200 for a quick look),
``BENCH_SEED`` (default 20260601), ``BENCH_WORKERS`` (1 or 2, default 2),
``BENCH_MODELS`` (comma-separated subset of the data models), ``BENCH_OUT`` (CSV of every
cell, default ``build/bench-judge/cells.csv``). Prints tables, then one JSON line.
"""
from __future__ import annotations

import csv
import itertools
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .report import summary_json, tables
from .runner import run_task
from .simulate import MODELS, Cell

RPS = (10.0, 100.0, 1000.0)
WEIGHTS = (0.05, 0.10, 0.50)
BASES = (0.001, 0.01)
RATIOS = (1.0, 1.5, 2.0, 5.0)


def cells(models: list[str]) -> list[Cell]:
    return [Cell(m, rps, w, b, r) for m, rps, w, b, r in itertools.product(models, RPS, WEIGHTS, BASES, RATIOS)]


def cell_seed(base: int, cell: Cell) -> int:
    """A seed per cell derived from the base seed and the cell's coordinates."""
    key = [base, list(MODELS).index(cell.model), RPS.index(cell.rps), WEIGHTS.index(cell.weight),
           BASES.index(cell.base), RATIOS.index(cell.ratio)]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def main() -> int:
    runs = int(os.environ.get("BENCH_RUNS", "2000"))
    seed = int(os.environ.get("BENCH_SEED", "20260601"))
    workers = max(1, min(2, int(os.environ.get("BENCH_WORKERS", "2"))))
    models = [m for m in os.environ.get("BENCH_MODELS", "").split(",") if m] or list(MODELS)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        print(f"unknown data models {unknown}; known: {list(MODELS)}", file=sys.stderr)
        return 2
    out = Path(os.environ.get("BENCH_OUT", "build/bench-judge/cells.csv"))
    todo = [(c, runs, cell_seed(seed, c)) for c in cells(models)]
    # the costliest cells first, so the two workers finish together
    todo.sort(key=lambda t: (MODELS[t[0].model].per_pod, t[0].ratio == 1.0, t[0].rps), reverse=True)
    start = time.monotonic()
    results: list[dict[str, Any]] = []
    print(f"judge benchmark: {len(todo)} cells x {runs} runs, base seed {seed}, {workers} worker(s)",
          file=sys.stderr, flush=True)
    if workers == 1:
        it = map(run_task, todo)
        for i, res in enumerate(it, 1):
            results.append(res)
            _progress(i, len(todo), start)
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            for i, res in enumerate(pool.imap_unordered(run_task, todo, chunksize=1), 1):
                results.append(res)
                _progress(i, len(todo), start)
    elapsed = time.monotonic() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(sorted(results, key=lambda r: (r["model"], r["rps"], r["weight"], r["base"], r["ratio"])))
    print(f"judge benchmark: {len(results)} cells x {runs} runs, 30 s intervals, 1 h horizon; "
          f"base seed {seed} (each cell's seed, derived from it, is in the CSV)")
    print(tables(results))
    print(f"cells: {out} ; elapsed {elapsed:.0f} s")
    print(json.dumps(summary_json(results, runs=runs, seed=seed, elapsed_s=elapsed)))
    return 0


def _progress(done: int, total: int, start: float) -> None:
    if done % 24 == 0 or done == total:
        print(f"  {done}/{total} cells, {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
