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
    with pytest.raises(NotAllowed, match=r"spec.analysis.prometheus.address: 'http://169.254.169.254/' is not "
                                         r"allowed.*default, open, team-a"):
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


@pytest.mark.parametrize("url, sent", [
    ("https://hooks.slack.com/services/T0/B0/xyz", "https://hooks.slack.com/services/T0/B0/xyz"),
    ("https://HOOKS.slack.com:443/services/x", "https://hooks.slack.com/services/x"),
    ("https://ci.example.com/hook", "https://ci.example.com/hook"),
    ("https://ci.example.com/hook/deep", "https://ci.example.com/hook/deep"),
    ("https://ci.example.com/hook/./deep/../x", "https://ci.example.com/hook/x"),
    ("https://ci.example.com/hook/%7euser/%41", "https://ci.example.com/hook/~user/A"),
    ("https://ci.example.com/hook/a%2cb?x=%7e1#frag", "https://ci.example.com/hook/a%2Cb?x=~1"),
])
def test_webhook_allowed_and_normalised(url, sent):
    """The check returns the URL to send: normalised (RFC 3986), without a fragment."""
    assert parse_config(CONFIG, env={}).check_webhook_url(url) == sent


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
    # escapes by path: dot segments, plain or percent-encoded, resolved before the check
    "https://ci.example.com/hook/../admin",
    "https://ci.example.com/hook/%2e%2e/admin",
    "https://ci.example.com/hook/%2E%2E/admin",
    "https://ci.example.com/hook/.%2e/admin",
    "https://hooks.slack.com/services/../../admin",
    # separators a server may decode: refused outright
    "https://ci.example.com/hook/..%2fadmin",
    "https://ci.example.com/hook/%2F..%2Fadmin",
    "https://ci.example.com/hook/..%5cadmin",
    "https://ci.example.com/hook/..\\admin",
    "https://ci.example.com/hook/%zz",
    "https://ci.example.com/hook/a b",
    "https://ci.example.com/hook/\x00",
])
def test_webhook_refused(url):
    with pytest.raises(NotAllowed):
        parse_config(CONFIG, env={}).check_webhook_url(url)


def test_webhook_refusal_names_no_credential():
    cfg = parse_config(CONFIG, env={})
    with pytest.raises(NotAllowed) as err:
        cfg.check_webhook_url("https://bob:hunter2@hooks.slack.com/services/x?token=abc")
    assert "hunter2" not in str(err.value) and "abc" not in str(err.value) and "bob" not in str(err.value)
    assert "user information" in str(err.value)


def test_allowed_prefixes_are_normalised_too():
    cfg = parse_config({"webhooks": {"allowedUrls": ["HTTPS://Hooks.Example.com:443/a/./b/"]}}, env={})
    assert cfg.webhook_allowed_urls == ("https://hooks.example.com/a/b/",)
    assert cfg.check_webhook_url("https://hooks.example.com/a/b/c") == "https://hooks.example.com/a/b/c"
    with pytest.raises(ConfigError, match="encoded slashes"):
        parse_config({"webhooks": {"allowedUrls": ["https://h.example.com/a%2fb"]}}, env={})


def test_no_webhooks_allowed_by_default():
    with pytest.raises(NotAllowed, match="webhooks.allowedUrls"):
        OperatorConfig().check_webhook_url("https://hooks.slack.com/services/x")


@pytest.mark.parametrize("bad, match", [
    ({"prometheus": {"default": "ftp://x"}}, "http"),
    ({"prometheus": {"instances": {"a": {"url": "http://x", "timeout": 1}}}}, "unknown keys"),
    ({"prometheus": {"instances": {"default": "http://x"}}}, "reserved"),
    ({"prometheus": {"instances": {"a": {"url": "http://x", "timeoutSeconds": 0}}}}, "> 0"),
    ({"webhooks": {"allowedUrls": ["hooks.slack.com"]}}, "allowedUrls"),
    ({"webhooks": {"allowedUrls": ["https://u:p@hooks.slack.com/"]}}, "user information"),
    ({"prometheus": {"instances": {"a": {"url": "http://x", "namespaces": "team-a"}}}}, "namespaces"),
    ({"prometheus": {"instances": {"a": {"url": "http://x", "namespaces": ["Team_A"]}}}}, "namespaces"),
    ({"prometheus": {"instances": {"a": {"url": "http://x", "crossNamespaceQueries": [1]}}}},
     "crossNamespaceQueries"),
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


# ------------------------------------------------------------------------------------ tenancy

TENANTS = {
    "prometheus": {
        "default": "http://prometheus.monitoring.svc:9090",
        "instances": {
            "team-a": {"url": "https://prom.team-a.svc:9443", "namespaces": ["team-a", "team-a-*"],
                       "crossNamespaceQueries": ["team-a"]},
            "unlisted": {"url": "http://prom.unlisted.svc:9090"},
        },
    },
}


def test_the_default_instance_is_for_every_namespace_named_ones_for_their_namespaces():
    cfg = parse_config(TENANTS, env={})
    assert cfg.find_prometheus(PrometheusRef(), "anything").name == "default"
    assert cfg.find_prometheus(PrometheusRef(name="team-a"), "team-a").name == "team-a"
    assert cfg.find_prometheus(PrometheusRef(name="team-a"), "team-a-staging").name == "team-a"
    with pytest.raises(NotAllowed, match=r"^spec.analysis.prometheus: Prometheus 'team-a' may not be used from "
                                         r"namespace 'team-b' \(operator configuration: "
                                         r"prometheus.instances.team-a.namespaces\); allowed here: default$"):
        cfg.find_prometheus(PrometheusRef(name="team-a"), "team-b")
    # a named instance that lists no namespace serves none
    with pytest.raises(NotAllowed, match="may not be used from namespace 'team-a'"):
        cfg.find_prometheus(PrometheusRef(name="unlisted"), "team-a")


def test_an_address_is_held_to_the_same_namespaces_as_its_name():
    cfg = parse_config(TENANTS, env={})
    with pytest.raises(NotAllowed, match="'team-a' may not be used from namespace 'team-b'"):
        cfg.resolve_prometheus(PrometheusRef(address="https://prom.team-a.svc:9443"), namespace="team-b")
    assert cfg.resolve_prometheus(PrometheusRef(address="https://prom.team-a.svc:9443"),
                                  namespace="team-a").name == "team-a"


def test_the_default_instance_can_be_restricted_too():
    cfg = parse_config({"prometheus": {"default": {"url": "http://p:9090", "namespaces": ["shop"]}}}, env={})
    assert cfg.find_prometheus(PrometheusRef(), "shop").name == "default"
    with pytest.raises(NotAllowed, match=r"prometheus.default.namespaces\); allowed here: none"):
        cfg.find_prometheus(PrometheusRef(), "other")


def test_cross_namespace_queries_only_where_configured():
    cfg = parse_config(TENANTS, env={})
    team_a = cfg.allowed_prometheus()["team-a"]
    assert team_a.unscoped_queries_from("team-a")
    assert not team_a.unscoped_queries_from("team-a-staging")
    assert not cfg.prometheus_default.unscoped_queries_from("team-a")


def test_a_prometheus_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(ConfigError) as err:
        parse_config({"prometheus": {"default": "http://admin:s3cret@prom:9090"}}, env={})
    assert "s3cret" not in str(err.value) and "admin" not in str(err.value)
    assert "prometheus.default.url" in str(err.value) and "bearerTokenSecret" in str(err.value)


def test_a_release_address_with_credentials_is_refused_without_echoing_them():
    cfg = parse_config(CONFIG, env={})
    # same host and port as a configured instance: it would match, were the credentials ignored
    with pytest.raises(NotAllowed) as err:
        cfg.find_prometheus(PrometheusRef(address="http://eve:pa55word@prom.open.svc:9090/"), "shop")
    text = str(err.value)
    assert "pa55word" not in text and "eve" not in text
    assert text.startswith("spec.analysis.prometheus.address: credentials in the URL")


def test_a_secret_read_failure_is_reported_without_credentials():
    cfg = parse_config(CONFIG, env={})

    def read(ns: str, name: str) -> dict[str, str]:
        raise RuntimeError("GET https://kube:token123@10.0.0.1/api/v1/secrets: Authorization: Bearer abc.def")

    with pytest.raises(ConfigError) as err:
        cfg.resolve_prometheus(PrometheusRef(name="team-a"), read)
    assert "token123" not in str(err.value) and "abc.def" not in str(err.value)
    assert "cannot read Secret ops/prom-a" in str(err.value)
