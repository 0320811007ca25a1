# `make bench-judge`: the statistical judge against a Flagger-style fixed rule and a
# z-test repeated at every step, on seeded simulated counter streams (python -m
# bench.judge; docs/judge.md). The last line printed is one JSON object.
#   BENCH_RUNS=200    quick look (default 2000 runs per cell)
#   BENCH_SEED=...    base seed (default 20260601); every cell's seed derives from it
#   BENCH_MODELS=ideal,nb5   a subset of the data models
BENCH_RUNS ?= 2000
BENCH_SEED ?= 20260601
BENCH_MODELS ?=
BENCH_WORKERS ?= 2

.PHONY: bench-judge

bench-judge: $(VENV)/.installed ## judge benchmark: 864 cells x 2000 runs (BENCH_RUNS=200 for a quick run)
	BENCH_RUNS=$(BENCH_RUNS) BENCH_SEED=$(BENCH_SEED) BENCH_MODELS=$(BENCH_MODELS) \
	BENCH_WORKERS=$(BENCH_WORKERS) $(PYTHON) -m bench.judge
