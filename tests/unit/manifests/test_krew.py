"""The krew plugin manifest and its launcher: consistent with the package they ship."""
from __future__ import annotations

import fnmatch
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
KREW = ROOT / "manifests" / "krew"


def test_krew_manifest_names_the_plugin_its_version_and_its_files() -> None:
    m = yaml.safe_load((KREW / "ripcord.yaml").read_text())
    assert (m["apiVersion"], m["kind"], m["metadata"]["name"]) == \
        ("krew.googlecontainertools.github.com/v1alpha2", "Plugin", "ripcord")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert m["spec"]["version"] == f"v{version}"
    [platform] = m["spec"]["platforms"]
    assert platform["bin"] == "kubectl-ripcord"
    assert {"uri", "sha256"} <= set(platform)  # filled in by `make krew-archive`
    sources = [f["from"] for f in platform["files"]]
    archive = ["kubectl-ripcord", "LICENSE", f"ripcord-{version}-py3-none-any.whl"]  # what mk/plugin.mk packs
    assert all(any(fnmatch.fnmatch(a, s) for a in archive) for s in sources), sources
    assert all(any(fnmatch.fnmatch(a, s) for s in sources) for a in archive), sources
    assert "krew-archive" in (ROOT / "mk" / "plugin.mk").read_text()


def test_launcher_is_an_executable_posix_script() -> None:
    launcher = KREW / "kubectl-ripcord"
    assert launcher.stat().st_mode & 0o111, "krew links the bin; it must be executable"
    assert launcher.read_text().startswith("#!/bin/sh\n")
    sh = shutil.which("sh") or pytest.skip("no sh")
    checked = subprocess.run([sh, "-n", str(launcher)], capture_output=True, text=True, timeout=10)
    assert checked.returncode == 0, checked.stderr


def test_the_wheel_installs_the_plugin_and_its_completion_helper() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["kubectl-ripcord"] == "ripcord.cli.plugin:main"
    assert scripts["kubectl_complete-ripcord"] == "ripcord.cli.plugin:kubectl_complete_main"
