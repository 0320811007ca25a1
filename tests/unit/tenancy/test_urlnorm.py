"""RFC 3986 normalisation of webhook URLs."""
from __future__ import annotations

import pytest

from ripcord.urlnorm import UrlError, normalize_http_url, path_within, remove_dot_segments


@pytest.mark.parametrize("path, out", [
    # RFC 3986 section 5.2.4's own examples
    ("/a/b/c/./../../g", "/a/g"),
    ("mid/content=5/../6", "mid/6"),
    # and the edges of the algorithm
    ("/..", "/"), ("/../..", "/"), ("/.", "/"), ("/a/..", "/"), ("/a/.", "/a/"), ("/a/b/..", "/a/"),
    ("/a/./b", "/a/b"), ("/a//b/../c", "/a//c"), ("/a/..b/c", "/a/..b/c"), ("/a/b.", "/a/b."),
])
def test_remove_dot_segments(path: str, out: str) -> None:
    assert remove_dot_segments(path) == out


@pytest.mark.parametrize("url, normal", [
    ("HTTPS://Hooks.Example.COM:443/r", "https://hooks.example.com/r"),
    ("http://h:80", "http://h/"),
    ("http://h:8080/a", "http://h:8080/a"),
    ("https://h/r/../admin", "https://h/admin"),
    ("https://h/r/%2e%2e/admin", "https://h/admin"),
    ("https://h/r/%2E./admin", "https://h/admin"),
    ("https://h/%7e%41%2d%5F", "https://h/~A-_"),
    ("https://h/a%3ab%3A", "https://h/a%3Ab%3A"),
    ("https://h/caf\u00e9", "https://h/caf%C3%A9"),
    ("https://h/r?x=%7e&y=a/b#frag", "https://h/r?x=~&y=a/b"),
    ("http://[::1]:9000/x", "http://[::1]:9000/x"),
])
def test_normalize(url: str, normal: str) -> None:
    assert normalize_http_url(url) == normal
    assert normalize_http_url(normal) == normal  # idempotent


@pytest.mark.parametrize("url, why", [
    ("https://h/r/..%2fadmin", "encoded slashes"),
    ("https://h/r/%2F", "encoded slashes"),
    ("https://h/r/..%5cadmin", "encoded slashes"),
    ("https://h/r\\..\\admin", "backslashes"),
    ("https://h/r/%", "not a percent-encoding"),
    ("https://h/r/%g1", "not a percent-encoding"),
    ("https://h/a b", "spaces"),
    ("https://h/a\tb", "control"),
    ("ftp://h/a", "only http"),
    ("https:///a", "no host"),
    ("https://u:p@h/a", "user information"),
    ("https://h\u00e9.com/a", "ASCII"),
    ("https://h:99999/a", "not a valid URL"),
])
def test_refused(url: str, why: str) -> None:
    with pytest.raises(UrlError, match=why):
        normalize_http_url(url)


@pytest.mark.parametrize("path, base, within", [
    ("/r", "/r", True), ("/r/x", "/r", True), ("/r/x", "/r/", True), ("/rx", "/r", False), ("/", "/", True),
    ("/anything", "/", True), ("/r", "/r/", False),
])
def test_path_within(path: str, base: str, within: bool) -> None:
    assert path_within(path, base) is within
