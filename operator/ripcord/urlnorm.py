"""RFC 3986 normalisation of the URLs Ripcord posts to, before any allow-list check.

An allow-list that compares the text of a URL can be escaped by its path:
``https://hooks.example.com/ripcord/../admin`` starts with ``/ripcord/`` but the HTTP client
(urllib3 removes dot segments) and most servers resolve it to ``/admin``; so does
``/ripcord/%2e%2e/admin`` once the server decodes it. So a URL is first brought to the one
form every later step sees, and that exact form is what is checked and what is sent:

* scheme and host in lower case, a default port (80, 443) dropped, no fragment;
* percent-encodings of unreserved characters (``A-Z a-z 0-9 - . _ ~``) decoded, all
  others in upper-case hex (RFC 3986 6.2.2.1-2), then dot segments removed (5.2.4);
* characters that may not appear in a path or query percent-encoded (UTF-8);
* refused: an encoded slash or backslash in the path (``%2F``, ``%5C``: servers disagree on
  whether they separate segments), a literal backslash, a stray ``%``, control characters
  or spaces, user information, a host that is not plain ASCII.
"""
from __future__ import annotations

import re
import string
from urllib.parse import quote, urlsplit

UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_BAD_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c)", re.IGNORECASE)
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
DEFAULT_PORTS = {"http": 80, "https": 443}


class UrlError(ValueError):
    """A URL that cannot be normalised safely (the message says why, without the URL)."""


def _decode_unreserved(text: str) -> str:
    def sub(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in UNRESERVED else "%" + m.group(1).upper()
    return _PCT.sub(sub, text)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, verbatim."""
    out: list[str] = []
    rest = path
    while rest:
        if rest.startswith("../"):
            rest = rest[3:]
        elif rest.startswith("./"):
            rest = rest[2:]
        elif rest.startswith("/./"):
            rest = "/" + rest[3:]
        elif rest == "/.":
            rest = "/"
        elif rest.startswith("/../"):
            rest = "/" + rest[4:]
            if out:
                out.pop()
        elif rest == "/..":
            rest = "/"
            if out:
                out.pop()
        elif rest in (".", ".."):
            rest = ""
        else:
            start = 1 if rest.startswith("/") else 0
            end = rest.find("/", start)
            end = len(rest) if end < 0 else end
            out.append(rest[:end])
            rest = rest[end:]
    return "".join(out)


def normalize_http_url(url: str) -> str:
    """The normal form of an http(s) URL (see the module docstring); :class:`UrlError` if unsafe."""
    if not isinstance(url, str) or _CONTROL_OR_SPACE.search(url):
        raise UrlError("control characters or spaces in the URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise UrlError(f"not a valid URL ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlError("only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise UrlError("user information (user:password@) is not allowed in the URL")
    host = parts.hostname or ""
    if not host:
        raise UrlError("the URL has no host")
    if not host.isascii():
        raise UrlError("the host must be plain ASCII (use its punycode form)")
    path = parts.path or "/"
    if "\\" in path or _ENCODED_SEPARATOR.search(path):
        raise UrlError("encoded slashes (%2F), backslashes or encoded backslashes (%5C) in the path are not allowed")
    if _BAD_PCT.search(path) or _BAD_PCT.search(parts.query):
        raise UrlError("a '%' that is not a percent-encoding")
    path = quote(remove_dot_segments(_decode_unreserved(path)), safe=_PATH_SAFE) or "/"
    query = quote(_decode_unreserved(parts.query), safe=_QUERY_SAFE)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def path_within(path: str, base: str) -> bool:
    """Whether normalised ``path`` is ``base`` or continues it at a ``/`` boundary."""
    base = base or "/"
    return path == base or path.startswith(base if base.endswith("/") else base + "/")
