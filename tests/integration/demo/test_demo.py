"""`python -m demo --ci` on the sandbox: 2.0.0 is rolled back, 2.0.1 promoted, the last line is the JSON.

The third run, with the pre-traffic gate, must stop 2.0.0 before any user request reaches it.

The shortened demo runs as a subprocess (as `make demo-ci` does) in its own namespace, with
a timeout. Outcomes are asserted, timings are not (they are figures, printed by the demo).
"""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo.cluster import delete_namespace
from demo.console import Console
from demo.figures import SUMMARY_KEYS
from tests.integration.support import ROOT

TIMEOUT_S = 420


@pytest.mark.integration
def test_ci_demo_rolls_back_2_0_0_and_promotes_2_0_1(sandbox: Any, kube: Any, tmp_path: Path) -> None:
    namespace = "ripcord-demo-test"  # not the demo's own: a developer's last `make demo` stays to look at
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo", "--ci", "--provider", "gateway-api", "--namespace", namespace,
         "--out", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # KeyboardInterrupt: the demo stops its loads and its operator
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        pytest.fail(f"the CI demo did not finish within {TIMEOUT_S}s; its output:\n{stdout}\n{stderr}")
    finally:  # the demo leaves its namespace serving, to look around; a test does not
        delete_namespace(Console(io.StringIO(), tty=False), kube, namespace)
    lines = stdout.strip().splitlines()
    report = f"exit {proc.returncode}\n--- stdout ---\n{stdout[-6000:]}\n--- stderr ---\n{stderr[-3000:]}"
    assert proc.returncode == 0, report
    assert "Outcomes: 2.0.0 RolledBack, 2.0.1 Promoted; with the gate: 2.0.0 RolledBack, 2.0.1 Promoted" in stdout, \
        report
    summary = json.loads(lines[-1])
    assert tuple(summary) == SUMMARY_KEYS, report
    assert summary["gated_failed_fraction"] == 0.0, f"with the gate no user request failed: {summary}"
    assert summary["gated_detect_s"] is not None, "the gate's decision is timed from the canary's Ready"
    assert "Ripcord + gate" in stdout and "back before any user request reached it (pre-traffic gate): GET /" \
        in stdout, report
    assert summary["promoted_version"] == "2.0.1" and summary["provider"] == "gateway-api"
    assert "| Time (UTC)" in stdout and "🔴 DETECTED" in stdout
    chart = tmp_path / "demo-gateway-api.png"
    assert chart.exists() and chart.stat().st_size > 10_000, f"no chart at {chart}"
