"""`python -m demo --ci` on the sandbox: 2.0.0 is rolled back, 2.0.1 promoted, the last line is the JSON.

The shortened demo runs as a subprocess (as `make demo-ci` does) in its own namespace, with
a timeout. Outcomes are asserted, timings are not (they are figures, printed by the demo).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo.figures import SUMMARY_KEYS
from tests.integration.support import ROOT

TIMEOUT_S = 420


@pytest.mark.integration
def test_ci_demo_rolls_back_2_0_0_and_promotes_2_0_1(sandbox: Any, tmp_path: Path) -> None:
    namespace = "ripcord-demo-test"
    try:
        out = subprocess.run(
            [sys.executable, "-m", "demo", "--ci", "--namespace", namespace, "--out", str(tmp_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the CI demo did not finish within {TIMEOUT_S}s; output so far:\n{e.stdout or ''}")
    lines = out.stdout.strip().splitlines()
    report = f"exit {out.returncode}\n--- stdout ---\n{out.stdout[-6000:]}\n--- stderr ---\n{out.stderr[-3000:]}"
    assert out.returncode == 0, report
    assert "Outcomes: 2.0.0 RolledBack, 2.0.1 Promoted" in out.stdout, report
    summary = json.loads(lines[-1])
    assert tuple(summary) == SUMMARY_KEYS, report
    assert summary["promoted_version"] == "2.0.1" and summary["provider"] == "gateway-api"
    assert "| Time (UTC)" in out.stdout and "🔴 DETECTED" in out.stdout
    chart = tmp_path / "demo-gateway-api.png"
    assert chart.exists() and chart.stat().st_size > 10_000, f"no chart at {chart}"
