# `make image`: build the operator image with docker or podman, whichever is present.
# IMAGE and TAG override the name (default: ripcord/operator:<version in pyproject.toml>,
# the image manifests/operator/deployment.yaml runs).
IMAGE ?= ripcord/operator
TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
CONTAINER_TOOL ?= $(shell command -v docker 2>/dev/null || command -v podman 2>/dev/null)

.PHONY: image image-kind

image: ## build $(IMAGE):$(TAG)
	@if [ -z "$(CONTAINER_TOOL)" ]; then \
	  echo "make image: neither docker nor podman is installed; install one (or set CONTAINER_TOOL)" >&2; exit 2; fi
	@if ! $(CONTAINER_TOOL) info >/dev/null 2>&1; then \
	  echo "make image: $(CONTAINER_TOOL) is installed but cannot reach its engine (is the daemon running?)" >&2; exit 2; fi
	$(CONTAINER_TOOL) build --tag $(IMAGE):$(TAG) .

image-kind: image ## build, then load the image into a kind cluster (KIND_CLUSTER, default "kind")
	kind load docker-image $(IMAGE):$(TAG) --name $(or $(KIND_CLUSTER),kind)
