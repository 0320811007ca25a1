# `make bench-robustness`: a bad Release, a killed operator or a slow cluster harms nothing
# else, measured on the sandbox (python -m bench.robustness; docs/reliability.md). Prints
# each part's table; the last line printed is one JSON object.
#   BENCH_PARTS=chaos,outage     a subset of the parts (fuzz, chaos, outage)
#   ROBUSTNESS_SEED=...          the seed of every random choice (default 20260701)
#   BENCH_CHAOS_RELEASES, BENCH_CHAOS_PER_RELEASE, BENCH_CHAOS_KILL_GAP=lo,hi (seconds)
#   BENCH_OUTAGE_RELEASES, BENCH_OUTAGE_ROUNDS, BENCH_OUTAGE_FREEZE_S, BENCH_OUTAGE_API_AFTER_S
BENCH_PARTS ?= fuzz,chaos,outage
ROBUSTNESS_SEED ?= 20260701

.PHONY: bench-robustness

bench-robustness: setup ## robustness benchmark on the sandbox: fuzzed specs, operator kills, outages
	$(PYTHON) -m sandbox up
	BENCH_PARTS=$(BENCH_PARTS) BENCH_SEED=$(ROBUSTNESS_SEED) $(PYTHON) -m bench.robustness
