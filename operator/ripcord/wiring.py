"""Optional parts wired into the reconciler: analyzer, notifier, metrics, leader election.

Each is imported here and nowhere else in the edge, so the core runs (pod-health gates
only) even where one of them is not configured.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from ripcord.api.models import ReleaseSpec

log = logging.getLogger("ripcord.wiring")


def analyzer_and_checks(api_client: Any, config_path: Optional[str]) -> tuple[Any, Optional[Callable[[str, ReleaseSpec], Optional[str]]]]:
    from ripcord.config import load_config
    cfg = load_config(config_path)
    from ripcord.analysis.analyzer import Analyzer
    analyzer = Analyzer(cfg, secret_reader=secret_reader(api_client, cfg.namespace))

    def check(namespace: str, spec: ReleaseSpec) -> Optional[str]:
        from ripcord.tenancy import release_problem
        return release_problem(cfg, analyzer, spec, namespace)

    return analyzer, check


def secret_reader(api_client: Any, namespace: str) -> Callable[[str, str], dict[str, str]]:
    """Reads a Secret in the operator's namespace, values decoded to text."""
    import base64

    from kubernetes import client

    core = client.CoreV1Api(api_client)

    def read(ns: str, name: str) -> dict[str, str]:
        sec = core.read_namespaced_secret(name, ns or namespace, _request_timeout=3)
        return {k: base64.b64decode(v).decode() for k, v in (sec.data or {}).items()}

    return read


def notifier_for(api_client: Any, config_path: Optional[str]) -> Any:
    from ripcord.config import load_config
    from ripcord.notify import WebhookNotifier, kube_token_reader
    from ripcord.telemetry import default_metrics
    cfg = load_config(config_path)
    return WebhookNotifier(allowed=cfg.check_webhook_url, token_reader=kube_token_reader(api_client),
                           on_result=default_metrics().notification_result).start()


def prober_for(config_path: Optional[str]) -> Any:
    """The pre-traffic gate's and gating webhooks' caller: the canary's address from ``gates.serviceUrl``,
    webhook URLs only where ``webhooks.allowedUrls`` allows."""
    from ripcord.config import load_config
    from ripcord.probes.prober import Prober
    cfg = load_config(config_path)
    return Prober(service_url=cfg.gate_service_url, check_url=cfg.check_webhook_url)
