# Ripcord developer entry points. `make test` is what CI runs (.ci/run).
PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)

.PHONY: test sandbox-deps sandbox-up sandbox-down sandbox-status sandbox-purge

test:
	$(PYTHON) -m pytest tests

# The local cluster (docs/design.md "Sandbox addresses"; python -m sandbox --help).
sandbox-deps:
	sandbox/scripts/install-deps.sh

sandbox-up: sandbox-deps
	$(PYTHON) -m sandbox up

sandbox-down:
	$(PYTHON) -m sandbox down

sandbox-status:
	$(PYTHON) -m sandbox status

sandbox-purge:
	$(PYTHON) -m sandbox down --purge

# Fragments: image, manifests, demo, benchmarks.
-include mk/*.mk
