"""The monitoring overlay: PrometheusRule tested with promtool, dashboard queries checked."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ripcord.telemetry.metrics import METRIC_NAMES

ROOT = Path(__file__).resolve().parents[3]
MONITORING = ROOT / "manifests" / "monitoring"
HERE = Path(__file__).resolve().parent


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("promtool is missing: install Debian's prometheus package (.ci/run does)")
    pytest.skip("promtool not installed (apt-get install prometheus)")


def rule_groups() -> list[dict[str, Any]]:
    rule = yaml.safe_load((MONITORING / "prometheus_rule.yaml").read_text())
    assert rule["kind"] == "PrometheusRule" and rule["apiVersion"] == "monitoring.coreos.com/v1"
    return rule["spec"]["groups"]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_check_and_test_rules(tmp_path: Path) -> None:
    tool = promtool()
    (tmp_path / "ripcord-rules.yaml").write_text(yaml.safe_dump({"groups": rule_groups()}, sort_keys=False))
    shutil.copy(HERE / "ripcord_rules_test.yaml", tmp_path)
    checked = run([tool, "check", "rules", "ripcord-rules.yaml"], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run([tool, "test", "rules", "ripcord_rules_test.yaml"], tmp_path)
    print(tested.stdout)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_tested_and_well_formed() -> None:
    tests = yaml.safe_load((HERE / "ripcord_rules_test.yaml").read_text())
    tested = {case["alertname"] for t in tests["tests"] for case in t.get("alert_rule_test", [])}
    for group in rule_groups():
        for rule in group["rules"]:
            name = rule["alert"]
            assert re.fullmatch(r"Ripcord[A-Z][A-Za-z]+", name), name
            assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
            assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
            assert name in tested, f"{name} has no promtool test"


def dashboard() -> dict[str, Any]:
    return json.loads((MONITORING / "dashboard.json").read_text())


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def referenced_metrics(exprs: list[str]) -> set[str]:
    names = set()
    for e in exprs:
        for name in re.findall(r"\bripcord_[a-z_]+", e):
            names.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return names


def test_queries_use_only_metrics_the_operator_exports() -> None:
    rule_exprs = [r["expr"] for g in rule_groups() for r in g["rules"]]
    used = referenced_metrics(rule_exprs + dashboard_exprs())
    assert used, "no ripcord metric referenced"
    assert used <= set(METRIC_NAMES), used - set(METRIC_NAMES)


def test_dashboard_queries_parse(tmp_path: Path) -> None:
    """Each panel query, its Grafana variables filled in, as a recording rule promtool parses."""
    tool = promtool()
    rules = []
    for i, expr in enumerate(dashboard_exprs()):
        filled = expr.replace("$__rate_interval", "5m").replace("$namespace", ".*").replace("$release", ".*")
        rules.append({"record": f"ripcord:dashboard_query_{i}", "expr": filled})
    (tmp_path / "dash.yaml").write_text(yaml.safe_dump({"groups": [{"name": "dash", "rules": rules}]}))
    checked = run([tool, "check", "rules", "dash.yaml"], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dashboard_is_portable() -> None:
    d = dashboard()
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in d["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
