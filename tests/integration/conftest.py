"""Integration fixtures shared by every part: Ripcord installed on the sandbox, the operator process."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import pytest
from kubernetes import client

from sandbox.pytest_plugin import exclusive
from sandbox.releases import install_ripcord
from tests.integration.support import OperatorProcess, Releases, write_operator_config


@pytest.fixture(scope="session")
def ripcord_installed(sandbox: Any) -> Any:
    """The Release CRD and exactly the RBAC that manifests/ ships, applied as the admin."""
    with exclusive(sandbox, "install"):
        install_ripcord(sandbox.admin_kubeconfig)
    return sandbox


@pytest.fixture
def releases(kube: client.ApiClient, namespace: str, ripcord_installed: Any) -> Releases:
    return Releases(kube, namespace)


@pytest.fixture
def operator_factory(ripcord_installed: Any, namespace: str, tmp_path: Path,
                     request: pytest.FixtureRequest) -> Iterator[Callable[..., OperatorProcess]]:
    """Start `ripcord run` for the test's namespace as the operator identity; stopped after the test."""
    started: list[OperatorProcess] = []

    def start(prometheus_url: Optional[str] = None, args: Sequence[str] = (), webhooks: Sequence[str] = (),
              scrape_interval_s: float = 1, **env: str) -> OperatorProcess:
        """``prometheus_url``: the only Prometheus the operator's configuration allows (default: the sandbox's);
        ``args``: more `ripcord run` flags; ``webhooks``: the URL prefixes notifications may go to;
        ``scrape_interval_s``: how often the pods analysed are scraped (virtual pods: every 5 s)."""
        config = write_operator_config(tmp_path / f"ripcord-{len(started)}.yaml",
                                       prometheus_url or ripcord_installed.prometheus_url, webhooks=webhooks,
                                       scrape_interval_s=scrape_interval_s)
        proc = OperatorProcess(ripcord_installed.operator_kubeconfig, namespace, tmp_path / f"operator-{len(started)}.log",
                               config, args=args).start(**env)
        started.append(proc)
        return proc

    yield start
    failed = getattr(request.node, "rep_call", None)
    for proc in started:
        proc.stop()
        if failed is not None and failed.failed:
            print(f"\n--- operator log ({proc.log_path}) ---\n{proc.log_tail(80)}")


@pytest.fixture
def operator(operator_factory: Callable[..., OperatorProcess]) -> OperatorProcess:
    return operator_factory()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
