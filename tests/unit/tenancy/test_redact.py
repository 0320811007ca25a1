"""Credentials never reach a message: URLs shown safely, exception texts masked."""
from __future__ import annotations

import pytest

from ripcord.analysis.prometheus import MetricsUnavailable, PrometheusClient
from ripcord.config import PromEndpoint
from ripcord.redact import has_userinfo, redact, safe_url


@pytest.mark.parametrize("text, secret", [
    ("connect to http://admin:hunter2@prom:9090/api failed", "hunter2"),
    ("connect to https://tok3n@prom:9090/api failed", "tok3n"),
    ("GET /api/v1/query?query=up&access_token=s3cr3t&time=1", "s3cr3t"),
    ("https://hooks.example.com/x?token=abc123", "abc123"),
    ("https://hooks.example.com/x?password=pw1&a=b", "pw1"),
    ("headers: {'Authorization': 'Bearer eyJhbGciOi.J9x'}", "eyJhbGciOi"),
    ("Authorization: Basic YWRtaW46cGFzcw==", "YWRtaW46cGFzcw"),
])
def test_redact_masks_credentials(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "***" in out


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "HTTPConnectionPool(host='127.0.0.1', port=19090): Max retries exceeded with url: /api/v1/query?query=up"
    assert redact(text) == text


@pytest.mark.parametrize("url, shown", [
    ("https://user:pw@Hooks.Example.com:8443/a/b?token=x#f", "https://***@hooks.example.com:8443/a/b?…"),
    ("http://prom:9090", "http://prom:9090"),
    ("http://[::1]:9090/x", "http://[::1]:9090/x"),
    ("https://h.example.com/" + "p" * 300, "https://h.example.com/" + "p" * 119 + "…"),
])
def test_safe_url(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_safe_url_of_garbage_is_still_masked_and_bounded() -> None:
    out = safe_url("http://a:b@[bad" + "x" * 500)
    assert "a:b" not in out and len(out) <= 160


@pytest.mark.parametrize("url, has", [("http://u@h/", True), ("http://u:p@h:1/", True), ("http://h/", False),
                                      ("http://h/@x", False), ("http://u:p@h:notaport/", True)])
def test_has_userinfo(url: str, has: bool) -> None:
    assert has_userinfo(url) is has


def test_a_prometheus_client_error_does_not_show_the_urls_credentials() -> None:
    """Even an endpoint built around the configuration's check keeps its password out of messages."""
    client = PrometheusClient(PromEndpoint(name="x", url="http://admin:hunter2@127.0.0.1:1", timeout_s=2))
    with pytest.raises(MetricsUnavailable) as err:
        client.query("up", 0.0)
    assert "hunter2" not in str(err.value) and "admin" not in str(err.value)
    assert "Prometheus x (http://***@127.0.0.1:1)" in str(err.value)
