"""Tenancy on the real API server: a Release that reaches outside its namespace is refused, by field.

The operator runs with a configuration of the test's own: a Prometheus instance that only
namespace ``team-x`` may use, and one webhook prefix. Each case applies a Release that
breaks one rule and must get ``Stalled``/``PrometheusNotAllowed`` with a message naming the
field, a Warning Event, and nothing created.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.integration.analysis.conftest import condition, wait_status
from tests.integration.support import OperatorProcess, Releases, release_manifest

ERRORS = {"name": "error-rate", "type": "error-rate", "source": "app", "judge": "threshold", "max": 0.05}
CASES = {
    "instance": ({"analysis": {"prometheus": {"name": "team-x"}, "metrics": [ERRORS]}},
                 "spec.analysis.prometheus: Prometheus 'team-x' may not be used from namespace"),
    "query": ({"analysis": {"metrics": [{"name": "peek", "type": "custom", "judge": "threshold", "max": 1,
                                         "query": 'sum(up{namespace="kube-system"})'}]}},
              "spec.analysis.metrics[peek].query: every selector must pin the Release's namespace"),
    "webhook": ({"notifications": [{"name": "chat", "url": "http://127.0.0.1:9/ripcord/%2e%2e/admin"}]},
                "spec.notifications[chat].url: webhook URL 'http://127.0.0.1:9/admin' is not allowed"),
    "credentials": ({"analysis": {"prometheus": {"address": "http://admin:hunter2@127.0.0.1:9"},
                                  "metrics": [ERRORS]}},
                    "spec.analysis.prometheus.address: credentials in the URL"),
}


@pytest.mark.integration
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_release_outside_its_tenancy_is_refused_by_field(case: str, releases: Releases, namespace: str,
                                                           ripcord_installed: Any, kube: client.ApiClient,
                                                           tmp_path: Path) -> None:
    prom = ripcord_installed.prometheus_url
    config = tmp_path / "ripcord.yaml"
    config.write_text(yaml.safe_dump({
        "namespace": "ripcord-system",
        "prometheus": {"default": {"url": prom, "timeoutSeconds": 1.5, "scrapeIntervalSeconds": 1},
                       "instances": {"team-x": {"url": prom + "/x", "namespaces": ["team-x"]}}},
        "webhooks": {"allowedUrls": ["http://127.0.0.1:9/ripcord/"]},
    }))
    operator = OperatorProcess(ripcord_installed.operator_kubeconfig, namespace, tmp_path / "operator.log",
                               config).start()
    try:
        spec, field_message = CASES[case]
        body = release_manifest("tenant", "1.0.0", analysis=spec.get("analysis"))
        body["spec"].update({k: v for k, v in spec.items() if k != "analysis"})
        releases.apply(body)
        status = wait_status(releases, "tenant", lambda s: condition(s, "Stalled").get("status") == "True", 60,
                             "the Stalled condition")
        stalled = condition(status, "Stalled")
        assert stalled["reason"] == "PrometheusNotAllowed", stalled
        assert stalled["message"].startswith(field_message), stalled
        assert "hunter2" not in stalled["message"] and "admin:" not in stalled["message"], stalled
        event = releases.wait_event("tenant", "PrometheusNotAllowed")
        assert event.type == "Warning" and field_message in event.message, event
        assert all("hunter2" not in e.message for e in releases.events("tenant"))
        assert client.AppsV1Api(kube).list_namespaced_deployment(namespace).items == []
        assert "hunter2" not in operator.log_path.read_text(errors="replace")
    finally:
        operator.stop()
