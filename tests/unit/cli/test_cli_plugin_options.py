"""The plugin's -A, -o json|yaml, version and shell completion, against in-memory Releases."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ripcord.cli import outcome
from ripcord.cli.plugin import Plugin, build_parser, complete, completion_script, version_info
from tests.unit.cli import engine_runs as runs
from tests.unit.cli.fakes import FakeCluster, streams


def _in(release: dict[str, Any], namespace: str) -> dict[str, Any]:
    r = copy.deepcopy(release)
    r["metadata"]["namespace"] = namespace
    return r


class ManyReleases(FakeCluster):
    """Several Releases in several namespaces: list, find, read by namespace."""

    def __init__(self, releases: list[dict[str, Any]]) -> None:
        super().__init__(releases)
        self.all = releases

    def release(self, namespace: str, name: str) -> dict[str, Any]:
        from ripcord.cli.kube import NotFound
        for r in self.all:
            if (r["metadata"]["namespace"], r["metadata"]["name"]) == (namespace, name):
                return copy.deepcopy(r)
        raise NotFound(f'release "{name}" not found in namespace "{namespace}"')

    def releases(self, namespace: Any) -> list[dict[str, Any]]:
        return [copy.deepcopy(r) for r in self.all if namespace is None or r["metadata"]["namespace"] == namespace]


def _run(cluster: FakeCluster, *argv: str, namespace: str = "default") -> tuple[int, str, str]:
    out, err = streams()
    args = build_parser().parse_args(list(argv))
    plugin = Plugin(cluster, namespace, out, err, now=lambda: runs.T0)
    code = {"get": plugin.get, "history": plugin.history, "version": plugin.version}[args.command](args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cluster() -> ManyReleases:
    web = runs.rolled_back_on_metric().release()
    return ManyReleases([_in(web, "shop"), _in(web, "staging"), _in(runs.promoted().release() | {
        "metadata": {**web["metadata"], "name": "api"}}, "shop")])


def test_get_all_namespaces_lists_every_namespace(cluster: ManyReleases) -> None:
    code, out, _ = _run(cluster, "get", "-A")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert [line.split()[:2] for line in lines[1:]] == [["shop", "web"], ["staging", "web"], ["shop", "api"]]


def test_get_name_with_all_namespaces_finds_it_or_says_it_is_ambiguous(cluster: ManyReleases) -> None:
    code, out, _ = _run(cluster, "get", "api", "-A")
    assert code == 0 and "Namespace:   shop" in out
    with pytest.raises(LookupError, match=r'exists in several namespaces \(shop, staging\): choose one with -n'):
        _run(cluster, "get", "web", "-A")  # main() turns it into "error: ..." and exit 1


def test_history_all_namespaces_and_per_namespace(cluster: ManyReleases) -> None:
    code, out, _ = _run(cluster, "history", "-A")
    header, *rows = out.splitlines()
    assert code == 0 and header.split()[:4] == ["NAMESPACE", "RELEASE", "ID", "VERSION"]
    assert {tuple(r.split()[:3]) for r in rows} >= {("shop", "web", "2"), ("staging", "web", "2"), ("shop", "api", "2")}
    _, out, _ = _run(cluster, "history", namespace="staging")
    assert [r.split()[:2] for r in out.splitlines()[1:]] == [["web", "2"], ["web", "1"]]
    _, out, _ = _run(cluster, "history", "api", "-A")
    assert out.splitlines()[1].split()[:3] == ["2", "2.0.0", "Promoted"]


def test_output_json_and_yaml(cluster: ManyReleases) -> None:
    _, out, _ = _run(cluster, "get", "-A", "-o", "json")
    listed = json.loads(out)
    assert listed["kind"] == "List" and [i["metadata"]["namespace"] for i in listed["items"]] == \
        ["shop", "staging", "shop"]
    _, out, _ = _run(cluster, "get", "web", "-o", "yaml", namespace="staging")
    obj = yaml.safe_load(out)
    assert obj["kind"] == "Release" and obj["status"]["history"][0]["outcome"] == "RolledBack"
    _, out, _ = _run(cluster, "history", "web", "-o", "json", namespace="shop")
    hist = json.loads(out)
    assert (hist["namespace"], hist["release"]) == ("shop", "web") and [h["id"] for h in hist["history"]] == [2, 1]
    _, out, _ = _run(cluster, "history", "-A", "-o", "yaml")
    assert [(h["namespace"], h["release"]) for h in yaml.safe_load(out)] == \
        [("shop", "web"), ("staging", "web"), ("shop", "api")]


def test_watch_and_output_do_not_mix(cluster: ManyReleases) -> None:
    code, _, err = _run(cluster, "get", "web", "-w", "-o", "json", namespace="shop")
    assert code == outcome.EXIT_USAGE and "-o json|yaml" in err
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["get", "-o", "wide"])
    assert exc.value.code == outcome.EXIT_USAGE


def test_version(cluster: ManyReleases) -> None:
    info = version_info()
    assert info["api"] == "ripcord.dev/v1alpha1" and info["version"]
    code, out, _ = _run(cluster, "version")
    assert code == 0 and out.startswith(f"kubectl-ripcord {info['version']} (API ripcord.dev/v1alpha1")
    assert json.loads(_run(cluster, "version", "-o", "json")[1]) == info


def test_completion_of_commands_flags_and_shells() -> None:
    assert complete(["hist"]) == ["history"]
    assert {"get", "history", "postmortem", "abort", "version", "completion"} <= set(complete([""]))
    assert {"-A", "--all-namespaces", "-o", "--output", "--watch"} <= set(complete(["get", "-"]))
    assert complete(["get", "-o", ""]) == ["json", "yaml"]
    assert complete(["completion", ""])[-2:] == ["bash", "zsh"]
    for shell in ("bash", "zsh"):
        script = completion_script(shell)
        assert "kubectl-ripcord" in script and "_ARGCOMPLETE" in script


def test_version_and_completion_need_no_cluster(tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "missing"), "PATH": str(Path(sys.executable).parent)}
    for argv in (["version"], ["completion", "bash"]):
        proc = subprocess.run([sys.executable, "-m", "ripcord.cli.plugin", *argv], capture_output=True, text=True,
                              env=env, timeout=60)
        assert proc.returncode == 0 and proc.stdout, proc.stderr
    proc = subprocess.run([sys.executable, "-c", "import sys; from ripcord.cli.plugin import kubectl_complete_main; "
                           "sys.exit(kubectl_complete_main(['get', '--all']))"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.stdout.splitlines() == ["--all-namespaces", ":4"], proc.stderr
