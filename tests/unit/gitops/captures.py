"""The Release objects captured on the sandbox (tests/fixtures/captured/, RIPCORD_CAPTURE=1).

Each file is named by the moment the integration test captured it; the label's prefix
says what state the Release was in, which is what the GitOps tools must report.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
CAPTURE_DIR = ROOT / "tests" / "fixtures" / "captured"

#: label prefix -> (kstatus status, Argo CD health status)
EXPECTED: dict[str, tuple[str, str]] = {
    "created": ("InProgress", "Progressing"),
    "progressing": ("InProgress", "Progressing"),
    "paused": ("InProgress", "Suspended"),
    "holding": ("InProgress", "Suspended"),
    "promoted": ("Current", "Healthy"),
    "rolled-back": ("Failed", "Degraded"),
    "aborted": ("Failed", "Degraded"),
    "invalid-spec": ("Failed", "Degraded"),
}

#: States the issue asks the GitOps tests to cover with captured (not hand-written) objects.
REQUIRED = ("progressing", "promoted", "rolled-back", "paused", "invalid-spec")


def category(label: str) -> str:
    for prefix in sorted(EXPECTED, key=len, reverse=True):
        if label == prefix or label.startswith(prefix + "-"):
            return prefix
    raise KeyError(f"capture {label!r} has no expectation; add its prefix to EXPECTED")


def load_all() -> dict[str, dict[str, Any]]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(CAPTURE_DIR.glob("*.yaml"))}
