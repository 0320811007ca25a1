"""The operator's configuration: Prometheus and webhook allow-lists, credentials from Secrets."""
from __future__ import annotations

import pytest

from ripcord.api.models import PrometheusRef
from ripcord.analysis import queries
from ripcord.config import ConfigError, NotAllowed, OperatorConfig, load_config, parse_config

CONFIG = {
    "namespace": "ops",
    "prometheus": {
        "default": "http://prometheus.monitoring.svc:9090",
        "instances": {
            "team-a": {"url": "https://prom.team-a.svc:9443/", "bearerTokenSecret": "prom-a",
                       "caSecret": {"name": "prom-a-ca", "key": "bundle.pem"}, "timeoutSeconds": 1.5,
                       "scrapeIntervalSeconds": 1},
            "open": {"url": "http://prom.open.svc:9090", "insecureSkipVerify": True},
        },
    },
    "webhooks": {"allowedUrls": ["https://hooks.slack.com/services/", "https://ci.example.com/hook"]},
}


def secrets(store: dict[tuple[str, str], dict[str, str]]):
    calls: list[tuple[str, str]] = []

    def read(ns: str, name: str) -> dict[str, str]:
        calls.append((ns, name))
        return store[(ns, name)]

    read.calls = calls  # type: ignore[attr-defined]
    return read


def test_defaults_without_a_file():
    cfg = load_config(env={})
    assert cfg.prometheus_default.url == "http://prometheus.monitoring.svc:9090"
    assert cfg.webhook_allowed_urls == ()
    ep = cfg.resolve_prometheus(PrometheusRef())
    assert ep.name == "default" and ep.bearer_token is None


def test_env_sets_the_default_url_for_local_runs():
    cfg = load_config(env={"RIPCORD_PROMETHEUS_URL": "http://127.0.0.1:19090"})
    assert cfg.resolve_prometheus(PrometheusRef()).url == "http://127.0.0.1:19090"


def test_load_from_file(tmp_path):
    import yaml
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    cfg = load_config(env={"RIPCORD_CONFIG": str(path)})
    assert set(cfg.allowed_prometheus()) == {"default", "team-a", "open"}


def test_named_instance_with_credentials_from_secrets():
    cfg = parse_config(CONFIG, env={})
    read = secrets({("ops", "prom-a"): {"token": "s3cret\n"}, ("ops", "prom-a-ca"): {"bundle.pem": "PEM"}})
    ep = cfg.resolve_prometheus(PrometheusRef(name="team-a"), read)
    assert ep.url == "https://prom.team-a.svc:9443"
    assert ep.bearer_token == "s3cret" and ep.ca_pem == "PEM"
    assert ep.timeout_s == 1.5 and ep.scrape_interval_s == 1 and ep.settle_s == 1
    assert read.calls == [("ops", "prom-a"), ("ops", "prom-a-ca")]
    assert "s3cret" not in repr(ep)


def test_address_allowed_only_when_configured():
    cfg = parse_config(CONFIG, env={})
    ep = cfg.resolve_prometheus(PrometheusRef(address="HTTP://Prom.Open.svc:9090/"))
    assert ep.name == "open" and ep.insecure_skip_verify
    with pytest.raises(NotAllowed, match=r"address 'http://169.254.169.254/' is not allowed.*default, open, team-a"):
        cfg.resolve_prometheus(PrometheusRef(address="http://169.254.169.254/"))
    # same host, other port or path: not the same address
    with pytest.raises(NotAllowed):
        cfg.resolve_prometheus(PrometheusRef(address="http://prom.open.svc:9091"))
    with pytest.raises(NotAllowed):
        cfg.resolve_prometheus(PrometheusRef(address="http://prom.open.svc:9090/admin"))


def test_address_must_match_the_named_instance():
    cfg = parse_config(CONFIG, env={})
    with pytest.raises(NotAllowed):
        cfg.resolve_prometheus(PrometheusRef(name="open", address="http://prometheus.monitoring.svc:9090"),
                               secrets({}))


def test_unknown_name_is_not_allowed():
    cfg = parse_config(CONFIG, env={})
    with pytest.raises(NotAllowed, match="'nope' is not in the operator's configuration"):
        cfg.resolve_prometheus(PrometheusRef(name="nope"))


def test_missing_secret_is_a_clear_error():
    cfg = parse_config(CONFIG, env={})
    with pytest.raises(ConfigError, match="has no key 'token'"):
        cfg.resolve_prometheus(PrometheusRef(name="team-a"), secrets({("ops", "prom-a"): {"other": "x"}}))
    with pytest.raises(ConfigError, match="cannot read Secret ops/prom-a"):
        cfg.resolve_prometheus(PrometheusRef(name="team-a"), secrets({}))
    with pytest.raises(ConfigError, match="no Secret reader"):
        cfg.resolve_prometheus(PrometheusRef(name="team-a"))


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com/services/T0/B0/xyz",
    "https://HOOKS.slack.com:443/services/x",
    "https://ci.example.com/hook",
    "https://ci.example.com/hook/deep",
])
def test_webhook_allowed(url):
    assert parse_config(CONFIG, env={}).check_webhook_url(url) == url


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com.evil.net/services/x",   # host prefix trick
    "https://evil.net/https://hooks.slack.com/services/",
    "http://hooks.slack.com/services/x",             # scheme differs
    "https://hooks.slack.com:8443/services/x",       # port differs
    "https://ci.example.com/hooks",                  # not at a path boundary
    "https://user@hooks.slack.com/services/x",       # credentials in URL
    "https://hooks.slack.com/other",
    "file:///etc/passwd",
    "not a url",
])
def test_webhook_refused(url):
    with pytest.raises(NotAllowed):
        parse_config(CONFIG, env={}).check_webhook_url(url)


def test_no_webhooks_allowed_by_default():
    with pytest.raises(NotAllowed, match="webhooks.allowedUrls"):
        OperatorConfig().check_webhook_url("https://hooks.slack.com/services/x")


@pytest.mark.parametrize("bad, match", [
    ({"prometheus": {"default": "ftp://x"}}, "http"),
    ({"prometheus": {"instances": {"a": {"url": "http://x", "timeout": 1}}}}, "unknown keys"),
    ({"prometheus": {"instances": {"default": "http://x"}}}, "reserved"),
    ({"prometheus": {"instances": {"a": {"url": "http://x", "timeoutSeconds": 0}}}}, "> 0"),
    ({"webhooks": {"allowedUrls": ["hooks.slack.com"]}}, "allowedUrls"),
    ({"webhook": {}}, "unknown keys"),
    ({"metricSources": {"mesh": {}}}, "unknown source"),
    ({"metricSources": {"gateway": {"preset": "linkerd"}}}, "preset"),
])
def test_invalid_configuration_is_refused(bad, match):
    with pytest.raises(ConfigError, match=match):
        parse_config(bad, env={})


def test_metric_source_presets_and_overrides():
    cfg = parse_config({"metricSources": {"gateway": {"preset": "istio"},
                                          "app": {"requestsMetric": "web_requests_total"}}}, env={})
    assert cfg.source("gateway") == queries.ISTIO
    assert cfg.source("app").requests_metric == "web_requests_total"
    assert cfg.source("app").pod_label == "pod"


def test_webhook_allowed_as_a_predicate():
    cfg = parse_config(CONFIG, env={})
    assert cfg.webhook_allowed("https://hooks.slack.com/services/x")
    assert not cfg.webhook_allowed("https://hooks.slack.com.evil.net/services/x")
