# Manifests: keep the kustomize copy of the generated CRD in step with crds/release.yaml.
# (kustomize only loads files under its own directory; a unit test fails when they differ.)
.PHONY: manifests-crd manifests-check

manifests-crd: ## copy crds/release.yaml into manifests/crds/
	cp crds/release.yaml manifests/crds/release.yaml

KUBECTL ?= $(if $(wildcard .venv/bin/kubectl),.venv/bin/kubectl,kubectl)

manifests-check: ## build every kustomization
	@for k in crds rbac operator base namespaced sandbox monitoring; do \
	  $(KUBECTL) kustomize manifests/$$k > /dev/null || exit 1; echo "manifests/$$k: ok"; done
