"""Fixtures for the install/operations tests: the sandbox overlay applied once per run.

These tests share the ``ripcord-system`` namespace (its ConfigMap, Deployment and Lease), so
they run on one xdist worker, one after another (``xdist_group``, set below)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox.pytest_plugin import exclusive

ROOT = Path(__file__).resolve().parents[3]


def kubectl(kubeconfig: Any, *args: str, stdin: str | None = None) -> str:
    exe = Path(sys.executable).with_name("kubectl")
    out = subprocess.run([str(exe) if exe.exists() else "kubectl", "--kubeconfig", str(kubeconfig), *args],
                         input=stdin, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
    return out.stdout


def kustomize(name: str) -> str:
    exe = Path(sys.executable).with_name("kubectl")
    out = subprocess.run([str(exe) if exe.exists() else "kubectl", "kustomize", str(ROOT / "manifests" / name)],
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout


@pytest.fixture(scope="session")
def sandbox_install(sandbox: Any) -> Any:
    """`kubectl apply -k manifests/sandbox`: CRD, namespace, RBAC and the ConfigMap, as the admin."""
    # A stale CRD copy applied to the shared sandbox would prune fields other tests write.
    copy, source = ROOT / "manifests" / "crds" / "release.yaml", ROOT / "crds" / "release.yaml"
    assert copy.read_text() == source.read_text(), "run `make manifests-crd` first"
    with exclusive(sandbox, "install"):
        first = kubectl(sandbox.admin_kubeconfig, "apply", "-k", str(ROOT / "manifests" / "sandbox"))
        again = kubectl(sandbox.admin_kubeconfig, "apply", "-k", str(ROOT / "manifests" / "sandbox"))
    print("\n" + first.strip())
    assert all(line.endswith("unchanged") for line in again.strip().splitlines()), again
    kubectl(sandbox.admin_kubeconfig, "wait", "--for=condition=Established", "--timeout=60s",
            "crd/releases.ripcord.dev")
    return sandbox


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "ops" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("ripcord-system"))
