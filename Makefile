# Ripcord developer entry points.
#   make demo   - the 2.0.0 incident replayed on the local sandbox (does all setup first)
#   make test   - the whole test suite, unit and integration (does all setup first)
# Setup: Debian packages (etcd, Prometheus, build tools), a venv with the project, and the
# kube-apiserver/kube-controller-manager binaries built from Debian's source (cached).
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# Integration tests mostly wait on the cluster, so more test processes than cores pay off.
TEST_WORKERS ?= 4

.PHONY: setup test test-unit typecheck sandbox-deps sandbox-up sandbox-down sandbox-status sandbox-purge kube-binaries

setup: sandbox-deps $(VENV)/.installed kube-binaries ## everything the demo and the tests need

sandbox-deps:
	sandbox/scripts/install-deps.sh $(shell python3 -c 'import venv, ensurepip' 2>/dev/null || echo python3-venv)

$(VENV)/.installed: pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

kube-binaries:
	bash sandbox/scripts/build-kube.sh

test: setup typecheck ## types, import layers, unit and integration tests (starts the sandbox if it is not running)
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadgroup tests

typecheck: $(VENV)/.installed ## mypy --strict over the package and the import contracts (pyproject.toml)
	$(PYTHON) -m mypy
	$(VENV)/bin/lint-imports --no-cache

test-unit: $(VENV)/.installed ## the pure tests only: no sandbox
	$(PYTHON) -m pytest tests/unit

# The local cluster (docs/design.md "Sandbox addresses"; python -m sandbox --help).
sandbox-up: setup
	$(PYTHON) -m sandbox up

sandbox-down:
	$(PYTHON) -m sandbox down

sandbox-status:
	$(PYTHON) -m sandbox status

sandbox-purge:
	$(PYTHON) -m sandbox down --purge

# Fragments: image, manifests, demo, benchmarks.
-include mk/*.mk
