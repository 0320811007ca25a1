"""Helpers for integration tests: waiting on conditions, Release manifests, the operator process.

The shared pieces live in :mod:`sandbox.releases` (the demo uses them too); this module
re-exports them and adds what only the tests need.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from sandbox.releases import (OperatorProcess, Releases, demo_template, release_manifest, wait_for,
                              write_operator_config)

__all__ = ["ROOT", "OperatorProcess", "Releases", "capture", "demo_template", "release_manifest", "wait_for",
           "write_operator_config"]

ROOT = Path(__file__).resolve().parents[2]


CAPTURE_DIR = ROOT / "tests" / "fixtures" / "captured"


def capture(label: str, release: dict[str, Any]) -> None:
    """Save a live Release object for the GitOps health tests (kstatus, Argo CD Lua).

    Only when RIPCORD_CAPTURE=1: the committed captures are refreshed deliberately, not by
    every test run. Volatile metadata is dropped so a refresh diff shows real changes only.
    """
    if os.environ.get("RIPCORD_CAPTURE") != "1":
        return
    obj = {k: v for k, v in release.items() if k in ("apiVersion", "kind", "metadata", "spec", "status")}
    meta = obj["metadata"]
    obj["metadata"] = {k: meta[k] for k in ("name", "namespace", "generation", "annotations") if k in meta}
    CAPTURE_DIR.mkdir(parents=True, exist_ok=True)
    (CAPTURE_DIR / f"{label}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))
