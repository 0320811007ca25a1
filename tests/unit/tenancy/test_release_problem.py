"""The spec check behind PrometheusNotAllowed: field-named, bounded, credential-free messages."""
from __future__ import annotations

from typing import Any

from ripcord.analysis.analyzer import Analyzer
from ripcord.api.models import ReleaseSpec
from ripcord.config import parse_config
from ripcord.tenancy import release_problem

CONFIG = parse_config({
    "prometheus": {"default": "http://prom:9090",
                   "instances": {"team-a": {"url": "http://prom-a:9090", "namespaces": ["team-a", "team-a-*"]}}},
    "webhooks": {"allowedUrls": ["https://hooks.example.com/ripcord/"]},
}, env={})
ANALYZER = Analyzer(CONFIG, client_factory=lambda ep: None)  # type: ignore[arg-type, return-value]


def release(**spec: Any) -> ReleaseSpec:
    return ReleaseSpec.model_validate({"version": "1", "template": {"spec": {"containers": []}}, **spec})


def problem(spec: ReleaseSpec, namespace: str = "team-a") -> str | None:
    return release_problem(CONFIG, ANALYZER, spec, namespace)


def test_a_fine_release_has_no_problem() -> None:
    spec = release(analysis={"prometheus": {"name": "team-a"}, "metrics": [
        {"name": "q", "type": "custom", "max": 1, "query": 'sum(x{namespace="{{namespace}}"})'}]},
        notifications=[{"name": "chat", "url": "https://hooks.example.com/ripcord/team-a"}])
    assert problem(spec) is None
    assert problem(spec, "team-a-dev") is None


def test_an_instance_of_another_team_names_spec_analysis_prometheus() -> None:
    msg = problem(release(analysis={"prometheus": {"name": "team-a"}}), "team-b")
    assert msg is not None and msg.startswith("spec.analysis.prometheus: Prometheus 'team-a' may not be used from "
                                              "namespace 'team-b'")


def test_an_unpinned_custom_query_names_its_field() -> None:
    msg = problem(release(analysis={"metrics": [
        {"name": "peek", "type": "custom", "max": 1, "query": 'sum(rate(x{namespace="team-b"}[1m]))'}]}))
    assert msg is not None and msg.startswith("spec.analysis.metrics[peek].query: every selector must pin")


def test_a_webhook_escaping_by_path_names_its_field() -> None:
    for url in ("https://hooks.example.com/ripcord/../admin", "https://hooks.example.com/ripcord/%2e%2e/admin"):
        msg = problem(release(notifications=[{"name": "chat", "url": url}]))
        assert msg is not None and msg.startswith("spec.notifications[chat].url: webhook URL "
                                                  "'https://hooks.example.com/admin' is not allowed"), msg


def test_no_message_shows_a_credential() -> None:
    msgs = [
        problem(release(analysis={"prometheus": {"address": "http://root:t0ps3cret@prom:9090"}})),
        problem(release(notifications=[{"name": "c", "url": "https://root:t0ps3cret@hooks.example.com/ripcord/"}])),
        problem(release(notifications=[{"name": "c", "url": "https://evil.example/x?token=t0ps3cret"}])),
    ]
    assert all(m is not None and "t0ps3cret" not in m and "root" not in m for m in msgs), msgs


def test_messages_are_bounded() -> None:
    metrics = [{"name": f"m{i}", "type": "custom", "max": 1, "query": " + ".join(f"x{j}" for j in range(50))}
               for i in range(16)]  # the most a spec may hold
    msg = problem(release(analysis={"metrics": metrics}))
    assert msg is not None and len(msg) <= 2000
