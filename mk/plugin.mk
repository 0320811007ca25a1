# The kubectl plugin without the repository (docs/plugin.md).
#   make plugin-wheel                 dist/ripcord-<version>-py3-none-any.whl (pip install it: kubectl-ripcord on PATH)
#   make krew-archive KREW_URI=...    dist/kubectl-ripcord-<version>.tar.gz and dist/krew/ripcord.yaml
PLUGIN_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
KREW_URI ?= REPLACE_WITH_ARCHIVE_URL
KREW_HOMEPAGE ?= REPLACE_WITH_HOMEPAGE

.PHONY: plugin-wheel krew-archive

plugin-wheel: $(VENV)/.installed
	$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/ripcord-$(PLUGIN_VERSION)-py3-none-any.whl

krew-archive: plugin-wheel
	rm -rf dist/krew-stage dist/krew && mkdir -p dist/krew-stage dist/krew
	cp manifests/krew/kubectl-ripcord LICENSE dist/ripcord-$(PLUGIN_VERSION)-py3-none-any.whl dist/krew-stage/
	tar -C dist/krew-stage -czf dist/kubectl-ripcord-$(PLUGIN_VERSION).tar.gz .
	sed -e "s|REPLACE_WITH_ARCHIVE_URL|$(KREW_URI)|" -e "s|REPLACE_WITH_HOMEPAGE|$(KREW_HOMEPAGE)|" \
	    -e "s|REPLACE_WITH_SHA256|$$(sha256sum dist/kubectl-ripcord-$(PLUGIN_VERSION).tar.gz | cut -d' ' -f1)|" \
	    manifests/krew/ripcord.yaml > dist/krew/ripcord.yaml
	rm -rf dist/krew-stage
	@echo "dist/kubectl-ripcord-$(PLUGIN_VERSION).tar.gz and dist/krew/ripcord.yaml"
