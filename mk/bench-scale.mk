# `make bench-scale`: Ripcord with many Releases on the sandbox (python -m bench.scale;
# docs/performance.md): N Releases at rest and M rolling out at once, all on virtual pods.
# Prints tables, then one JSON object as the last line. Starts the sandbox if needed.
#   BENCH_SCALE=small          100 at rest + 10 rolling (default full: 100+10, 300+10, 1000+100)
#   BENCH_SCALE_CONFIGS=...    an explicit list, e.g. 100+10,300+10
#   BENCH_SCALE_WINDOW_S=60    length of each counting window
BENCH_SCALE ?= full

.PHONY: bench-scale

bench-scale: setup ## scale benchmark on the sandbox (BENCH_SCALE=small for a quick look)
	BENCH_SCALE=$(BENCH_SCALE) $(PYTHON) -m bench.scale
