"""The operator SIGKILLed right after each status write and after each cluster action resumes exactly.

One run per crash point, the runs side by side: each point has its own namespace, Release
and faulty operator (``RIPCORD_FAULT=<kind>:<n>``), which dies at that point of a rollout;
then one fresh operator takes over every namespace. Each outcome must be what an
uninterrupted run gives: one history entry for the rollout, every step started once, one
switch, promoted.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from kubernetes import client

from sandbox.releases import clear_release_finalizers
from tests.integration.support import OperatorProcess, Releases, release_manifest, wait_for, write_operator_config

POINTS = {"status": range(1, 7), "action": range(1, 5)}
NAME = "crash"


@pytest.fixture
def crash_namespaces(kube: client.ApiClient, namespace: str, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """One namespace per crash point of the parametrised kind."""
    core = client.CoreV1Api(kube)
    kind = request.node.callspec.params["kind"]
    made: dict[str, str] = {}
    for n in POINTS[kind]:
        ns = f"{namespace}-{kind[0]}{n}"
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns, labels={"ripcord.dev/test": "true"})))
        made[f"{kind}:{n}"] = ns
    for ns in made.values():
        wait_for(lambda ns=ns: core.read_namespaced_service_account("default", ns).secrets, 30, f"token in {ns}")
    yield made
    for ns in made.values():
        clear_release_finalizers(kube, ns)
        core.delete_namespace(ns)


@pytest.mark.integration
@pytest.mark.parametrize("kind", sorted(POINTS))
def test_operator_killed_at_each_point_resumes(kind: str, crash_namespaces: dict[str, str], kube: client.ApiClient,
                                               ripcord_installed: Any, tmp_path: Path) -> None:
    config = write_operator_config(tmp_path / "ripcord.yaml", ripcord_installed.prometheus_url)
    kubeconfig = ripcord_installed.operator_kubeconfig
    all_ns = list(crash_namespaces.values())
    rel = {point: Releases(kube, ns) for point, ns in crash_namespaces.items()}
    procs: list[OperatorProcess] = []

    def operator(namespaces: str | list[str], label: str, **env: str) -> OperatorProcess:
        proc = OperatorProcess(kubeconfig, namespaces, tmp_path / f"operator-{label}.log", config).start(**env)
        procs.append(proc)
        return proc

    try:
        installer = operator(all_ns, "installer")
        for r in rel.values():
            r.apply(release_manifest(NAME, "1.0.0", steps=[20, 50]))
        for r in rel.values():
            r.wait_phase(NAME, "Stable", timeout=120)
        installer.stop()

        faulty = {point: operator(ns, point.replace(":", "-"), RIPCORD_FAULT=point)
                  for point, ns in crash_namespaces.items()}
        for r in rel.values():
            r.apply(release_manifest(NAME, "2.0.1", steps=[20, 50]))
        wait_for(lambda: all(p.exited() is not None for p in faulty.values()) or
                 f"still running: {[pt for pt, p in faulty.items() if p.exited() is None]}",
                 180, f"every faulty operator to crash at its {kind} point")
        assert {pt: p.exited() for pt, p in faulty.items()} == {pt: 137 for pt in faulty}

        operator(all_ns, "successor")
        for point, r in rel.items():
            status = r.wait_outcome(NAME, "Promoted", rollout_id=2, timeout=180)
            entries = [h for h in status["history"] if h["id"] == 2]
            assert len(entries) == 1, f"{point}: one history entry per rollout"
            assert [h["id"] for h in status["history"]] == [2, 1], point
            steps = [t["message"] for t in entries[0]["timeline"] if t["event"] == "StepStarted"]
            assert steps == ["step 1: canary weight 20%", "step 2: canary weight 50%"], (point, steps)
            assert [t["event"] for t in entries[0]["timeline"]].count("Switched") == 1, point
            assert status["stable"]["version"] == "2.0.1", point
    except BaseException:
        for p in procs:
            print(f"\n--- {p.log_path.name} (tail) ---\n{p.log_tail(40)}")
        raise
    finally:
        for p in procs:
            p.stop()
