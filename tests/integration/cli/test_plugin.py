"""`kubectl ripcord` against the sandbox, run the way users run it: `kubectl ripcord ...`.

kubectl finds ``kubectl-ripcord`` on PATH (the venv's bin), so these tests also check the
plugin mechanism itself. Every wait is on a condition with a timeout; every subprocess has
a timeout of its own.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

from ripcord.cli import outcome
from sandbox.gateway.client import GatewayClient, summarize
from tests.integration.support import Releases, capture, release_manifest, wait_for
from tests.unit.gitops import argo_lua, kstatus

BIN = Path(sys.executable).parent
SLOW = {"stepDuration": "600s"}  # steps never advance on their own
ERROR_RATE = [{"name": "error-rate", "type": "error-rate", "source": "app", "judge": "threshold", "max": 0.05}]


def kubectl(sandbox: Any, *args: str, timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess[str]:
    exe = BIN / "kubectl"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "KUBECONFIG": str(sandbox.admin_kubeconfig)}
    proc = subprocess.run([str(exe) if exe.exists() else "kubectl", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def ripcord(sandbox: Any, namespace: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return kubectl(sandbox, "ripcord", *args, "-n", namespace, timeout=timeout)


def _explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


@pytest.fixture
def load(namespace: str) -> Iterator[Any]:
    """Steady traffic through the sandbox gateway to the Release's Service, stopped after the test."""
    gw = GatewayClient()
    started: list[str] = []

    def start(service: str, rps: int = 40) -> None:
        name = f"{namespace}-{service}"
        gw.put_load(name, namespace, service=service, rps=rps, paths=["/api/status", "/health"])
        started.append(name)
        gw.wait_rows(name, lambda rows: summarize(rows)["total"] >= rps, timeout_s=30)

    yield start
    for name in started:
        gw.delete_load(name)


def _stable(releases: Releases, name: str, **kw: Any) -> None:
    releases.apply(release_manifest(name, "1.0.0", **kw))
    releases.wait_phase(name, "Stable", timeout=90)


def _rollout_id(releases: Releases, name: str, above: int = 0) -> int:
    return int(wait_for(lambda: (rid := (releases.status(name).get("rollout") or {}).get("id", 0)) > above and rid,
                        60, "a rollout in flight"))


def _impact_row(report: str, source: str) -> Optional[list[str]]:
    for line in report.splitlines():
        if line.startswith(f"| {source} "):
            return [c.strip() for c in line.strip("|").split("|")]
    return None


# ---------------------------------------------------------------------------- tests

@pytest.mark.integration
def test_kubectl_finds_the_plugin(sandbox: Any) -> None:
    listed = kubectl(sandbox, "plugin", "list", timeout=30)
    assert "kubectl-ripcord" in listed.stdout, _explain(listed)
    helped = kubectl(sandbox, "ripcord", "--help", timeout=30)
    assert helped.returncode == 0 and "exit codes:" in helped.stdout, _explain(helped)
    # `kubectl ripcord <TAB>`: kubectl's completion runs kubectl_complete-ripcord from the PATH.
    completed = kubectl(sandbox, "__complete", "ripcord", "hist", timeout=30)
    assert completed.stdout.splitlines()[:2] == ["history", ":4"], _explain(completed)


@pytest.mark.integration
def test_all_namespaces_and_json_yaml_output(sandbox: Any, kube: Any, releases: Releases, namespace: str) -> None:
    """-A lists, finds and refuses to guess across namespaces; -o json|yaml prints the API objects."""
    import json

    import yaml
    from kubernetes import client

    other = f"{namespace}-b"
    core = client.CoreV1Api(kube)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=other)))
    try:
        mine = {namespace, other}
        releases.apply(release_manifest("web", "1.0.0"))
        Releases(kube, other).apply(release_manifest("web", "1.0.0"))
        Releases(kube, other).apply(release_manifest("solo", "1.0.0"))

        table = kubectl(sandbox, "ripcord", "get", "-A", check=True)
        rows = [line.split()[:2] for line in table.stdout.splitlines()]
        assert rows[0] == ["NAMESPACE", "NAME"]
        assert [r for r in rows[1:] if r[0] in mine] == [[namespace, "web"], [other, "solo"], [other, "web"]]

        listed = json.loads(kubectl(sandbox, "ripcord", "get", "-A", "-o", "json", check=True).stdout)
        assert listed["kind"] == "List"
        assert sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed["items"]
                      if i["metadata"]["namespace"] in mine) == [(namespace, "web"), (other, "solo"), (other, "web")]

        found = kubectl(sandbox, "ripcord", "get", "solo", "-A", check=True)
        assert f"Namespace:   {other}" in found.stdout
        ambiguous = kubectl(sandbox, "ripcord", "get", "web", "-A")
        assert ambiguous.returncode == outcome.EXIT_ERROR, _explain(ambiguous)
        assert "exists in several namespaces" in ambiguous.stderr and "choose one with -n" in ambiguous.stderr

        one = yaml.safe_load(ripcord(sandbox, namespace, "get", "web", "-o", "yaml").stdout)
        assert (one["kind"], one["metadata"]["namespace"]) == ("Release", namespace)
        hist = yaml.safe_load(kubectl(sandbox, "ripcord", "history", "solo", "-A", "-o", "yaml", check=True).stdout)
        assert (hist["namespace"], hist["release"], hist["history"]) == (other, "solo", [])
        every = kubectl(sandbox, "ripcord", "history", "-A", check=True)
        assert every.stdout.strip() == "No rollouts recorded yet." or \
            every.stdout.splitlines()[0].split()[:3] == ["NAMESPACE", "RELEASE", "ID"]
    finally:
        core.delete_namespace(other)


@pytest.mark.integration
def test_a_release_no_operator_has_seen_is_in_progress(sandbox: Any, releases: Releases, namespace: str) -> None:
    """No operator runs in this test: the CRD's status default alone keeps Flux and Argo CD waiting."""
    releases.apply(release_manifest("fresh", "1.0.0"))
    obj = releases.get("fresh")
    assert obj["status"]["observedGeneration"] == -1
    capture("created", obj)
    assert kstatus.compute(obj).status == "InProgress"
    assert argo_lua.health(obj).status == "Progressing"
    shown = ripcord(sandbox, namespace, "get", "fresh")
    assert shown.returncode == 0 and "Generation:  1 not yet observed by the operator (observed -1)" in shown.stdout
    watched = ripcord(sandbox, namespace, "get", "fresh", "--watch", "--timeout", "3s", timeout=30)
    assert watched.returncode == outcome.EXIT_TIMEOUT, _explain(watched)
    missing = ripcord(sandbox, namespace, "get", "nope")
    assert missing.returncode == outcome.EXIT_ERROR and 'release "nope" not found' in missing.stderr


@pytest.mark.integration
def test_watch_exits_0_on_promotion_then_history_and_report(sandbox: Any, releases: Releases, operator: Any,
                                                            namespace: str, load: Any) -> None:
    name = "web"
    _stable(releases, name)
    load(name)
    releases.apply(release_manifest(name, "2.0.1"))
    watched = ripcord(sandbox, namespace, "get", name, "--watch", "--timeout", "180s", timeout=240)
    assert watched.returncode == outcome.EXIT_OK, _explain(watched)
    assert re.search(r"^\d\d:\d\d:\d\d Progressing \| step 1/2", watched.stdout, re.M), watched.stdout
    assert "rollout ended (shipped, exit 0): Ready: 2.0.1 serves all traffic" in watched.stdout

    waited = kubectl(sandbox, "wait", "--for=condition=Ready", f"release.ripcord.dev/{name}", "-n", namespace,
                     "--timeout=10s", timeout=30)
    assert waited.returncode == 0, _explain(waited)

    history = ripcord(sandbox, namespace, "history", name)
    rows = [line.split() for line in history.stdout.splitlines()[1:]]
    assert [r[:3] for r in rows] == [["2", "2.0.1", "Promoted"], ["1", "1.0.0", "Installed"]], history.stdout
    assert rows[0][6:8] == ["2", "100%"]

    report = ripcord(sandbox, namespace, "postmortem", name, "--prometheus", sandbox.prometheus_url, timeout=60)
    assert report.returncode == 0, _explain(report)
    assert report.stdout.startswith("# Rollout Report")
    assert "Every step passed and 2.0.1 was promoted" in report.stdout
    app = _impact_row(report.stdout, "app (the pods' own counters)")
    assert app is not None, report.stdout
    assert int(app[1].replace(",", "")) > 0, "the canary served requests during the rollout"
    assert app[2] == "0", "2.0.1 is a good version: no errors"


@pytest.mark.integration
def test_watch_exits_3_when_errors_roll_back_and_the_report_names_the_signal(
        sandbox: Any, releases: Releases, operator: Any, namespace: str, load: Any) -> None:
    """The seed incident: 2.0.0 answers 500 on /api/status and /health; the canary analysis catches it."""
    name = "web"
    _stable(releases, name, analysis={"metrics": ERROR_RATE})
    load(name)
    releases.apply(release_manifest(name, "2.0.0", analysis={"metrics": ERROR_RATE}))
    watched = ripcord(sandbox, namespace, "get", name, "--watch", "--timeout", "180s", timeout=240)
    assert watched.returncode == outcome.EXIT_ROLLED_BACK, _explain(watched)
    assert "rollout ended (did not ship, exit 3): RolledBack" in watched.stdout
    capture("rolled-back-error-rate", releases.get(name))

    history = ripcord(sandbox, namespace, "history", name)
    newest = history.stdout.splitlines()[1]
    assert newest.split()[:3] == ["2", "2.0.0", "RolledBack"], history.stdout
    assert "Metric: error-rate = " in newest and "breached" in newest

    report = ripcord(sandbox, namespace, "postmortem", name, "--prometheus", sandbox.prometheus_url, timeout=60)
    assert report.returncode == 0, _explain(report)
    text = report.stdout
    print(text)
    assert text.startswith("# Post-Mortem Report\n\n## Release `" + namespace + "/web`, rollout 2: version 2.0.0 "
                           "rolled back")
    signal = next(line for line in text.splitlines() if line.startswith("| Metric | error-rate |"))
    cells = [c.strip() for c in signal.strip("|").split("|")]
    value = re.match(r"([0-9.]+)% \(stable ([0-9.]+)%\)$", cells[2])
    assert value and float(value.group(1)) > 5 > float(value.group(2)), signal
    assert cells[3], "the bound the value breached"
    assert "🔴 DETECTED" in text and "✓ RESTORED" in text
    assert "**Time to detect:" in text and "**Time to restore:" in text
    app = _impact_row(text, "app (the pods' own counters)")
    assert app is not None, text
    assert int(app[2].replace(",", "")) > 0, "the canary's errors are counted"


@pytest.mark.integration
def test_manual_actions_wait_for_the_operator(sandbox: Any, releases: Releases, operator: Any,
                                              namespace: str) -> None:
    name = "man"
    _stable(releases, name, analysis=SLOW)
    releases.apply(release_manifest(name, "2.0.1", analysis=SLOW))
    rid = _rollout_id(releases, name)
    releases.wait_phase(name, "Progressing", timeout=60)

    paused = ripcord(sandbox, namespace, "pause", name, "--wait", "--timeout", "30s")
    assert paused.returncode == 0 and f"rollout {rid} is paused" in paused.stdout, _explain(paused)
    value = re.search(r"ripcord\.dev/pause=(\S+)\)", paused.stdout).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(rf"{rid}/[0-9a-f]{{8}}", value)
    assert releases.status(name)["acknowledged"]["pause"] == value
    assert releases.status(name)["phase"] == "Paused"

    resumed = ripcord(sandbox, namespace, "resume", name, "--wait", "--timeout", "30s")
    assert resumed.returncode == 0 and f"rollout {rid} is running" in resumed.stdout, _explain(resumed)

    aborted = ripcord(sandbox, namespace, "abort", name, "--wait", "--timeout", "30s")
    assert aborted.returncode == 0, _explain(aborted)
    watched = ripcord(sandbox, namespace, "get", name, "--watch", "--timeout", "60s", timeout=90)
    assert watched.returncode == outcome.EXIT_ROLLED_BACK and "Aborted" in watched.stdout, _explain(watched)
    capture("aborted", releases.get(name))

    refused = ripcord(sandbox, namespace, "promote", name)
    assert refused.returncode == outcome.EXIT_ERROR and "no rollout in flight" in refused.stderr, _explain(refused)

    retried = ripcord(sandbox, namespace, "retry", name, "--wait", "--timeout", "30s")
    assert retried.returncode == 0, _explain(retried)
    new_id = _rollout_id(releases, name, above=rid)
    releases.wait_phase(name, "Progressing", timeout=60)
    promoted = ripcord(sandbox, namespace, "promote", name, "--wait", "--timeout", "30s")
    assert promoted.returncode == 0 and f"rollout {new_id} will promote" in promoted.stdout, _explain(promoted)
    watched = ripcord(sandbox, namespace, "get", name, "--watch", "--timeout", "90s", timeout=120)
    assert watched.returncode == outcome.EXIT_OK, _explain(watched)
    outcomes = [h["outcome"] for h in releases.status(name)["history"]]
    assert outcomes[:2] == ["Promoted", "Aborted"]


@pytest.mark.integration
def test_watch_exits_2_on_an_invalid_spec(sandbox: Any, releases: Releases, operator: Any, namespace: str) -> None:
    name = "inv"
    _stable(releases, name)
    releases.apply(release_manifest(name, "2.0.1", steps=[50, 20]))  # passes the schema, not the operator
    watched = ripcord(sandbox, namespace, "get", name, "--watch", "--timeout", "60s", timeout=90)
    assert watched.returncode == outcome.EXIT_INVALID_SPEC, _explain(watched)
    assert "InvalidSpec: " in watched.stdout and "steps must increase" in watched.stdout


@pytest.mark.integration
def test_a_rollout_without_a_verdict_holds_until_a_person_acts(sandbox: Any, releases: Releases, operator: Any,
                                                                namespace: str) -> None:
    """No verdict by maxDuration (here: far too few requests to judge): held, never promoted on its own."""
    name = "hold"
    analysis = {"metrics": ERROR_RATE, "minRequests": 1000000, "maxDuration": "15s"}
    _stable(releases, name, analysis=analysis)
    releases.apply(release_manifest(name, "2.0.1", analysis=analysis))
    releases.wait_phase(name, "Holding", timeout=120)
    capture("holding", releases.get(name))

    shown = ripcord(sandbox, namespace, "get", name)
    assert "[held]" in shown.stdout and "NoVerdict: MaxDurationReached" in shown.stdout, _explain(shown)
    watched = ripcord(sandbox, namespace, "get", name, "--watch", "--timeout", "3s", timeout=30)
    assert watched.returncode == outcome.EXIT_TIMEOUT, "a hold is not an end: it waits for a person"
    history = ripcord(sandbox, namespace, "history", name)
    newest = history.stdout.splitlines()[1]
    assert newest.split()[2] == "Holding" and "(held: no verdict)" in newest, _explain(history)

    aborted = ripcord(sandbox, namespace, "abort", name, "--wait", "--timeout", "30s")
    assert aborted.returncode == 0, _explain(aborted)
    watched = ripcord(sandbox, namespace, "get", name, "--watch", "--timeout", "60s", timeout=90)
    assert watched.returncode == outcome.EXIT_ROLLED_BACK, _explain(watched)


@pytest.mark.integration
def test_a_rollback_drill_measures_the_time_to_restore_and_changes_nothing(sandbox: Any, releases: Releases,
                                                                          operator: Any, namespace: str,
                                                                          load: Any) -> None:
    name = "drill"
    _stable(releases, name, analysis=SLOW)
    load(name, rps=20)
    drilled = ripcord(sandbox, namespace, "drill", name, "--timeout", "120s", timeout=150)
    assert drilled.returncode == outcome.EXIT_OK, _explain(drilled)
    found = re.search(r"rolled back at (\d+)%; the stable served 100% again ([0-9.]+) s after", drilled.stdout)
    assert found is not None, _explain(drilled)
    status = releases.status(name)
    entry = status["history"][0]
    assert entry["drill"] is True and entry["outcome"] == "Drilled" and entry["weightReached"] == int(found.group(1))
    assert entry["restoreSeconds"] == float(found.group(2)) and entry["restoreSeconds"] < 30
    assert status["stable"]["version"] == "1.0.0" and status["phase"] == "Stable"
    assert status["lastOutcome"] == "Installed" and not status.get("stalledTemplateHash")
    history = ripcord(sandbox, namespace, "history", name)
    assert re.search(r"Drilled", history.stdout), _explain(history)
