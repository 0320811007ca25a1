"""Keep credentials out of every message Ripcord writes (status, Events, logs).

Two tools, both pure:

* :func:`safe_url` shows a URL as ``scheme://host:port/path``: user information (``user:password@``),
  query string and fragment are dropped, because each may hold a credential (``?token=``),
  and the path is bounded. Use it wherever a message names a URL.
* :func:`redact` cleans free text that may quote a URL or a credential, such as the text
  of an exception from an HTTP client. It masks the user information of any URL, the
  values of credential-like query parameters and ``Bearer``/``Basic`` tokens. Use it on
  every exception text that reaches a message.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

MASK = "***"
PATH_SHOWN = 120

# scheme://userinfo@  ->  scheme://***@   (userinfo: anything up to the first @ before / ? # or space)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s'\"]+@")
# ?token=...  &password=...  access_token=...  (values up to the next & space or quote)
_SECRET_PARAM = re.compile(
    r"(?i)\b([a-z_]*(?:token|password|passwd|pwd|secret|api_?key|access_?key|signature|auth))=([^&\s'\"]+)")
# Authorization: Bearer xxx / Basic xxx
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+")


def redact(text: str) -> str:
    """``text`` with user information, credential query parameters and auth tokens masked."""
    text = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _SECRET_PARAM.sub(lambda m: m.group(1) + "=" + MASK, text)
    return _AUTH_SCHEME.sub(lambda m: m.group(1) + " " + MASK, text)


def has_userinfo(url: str) -> bool:
    """Whether ``url`` carries ``user[:password]@`` (unparseable URLs: whether it looks so)."""
    try:
        parts = urlsplit(url.strip())
        return parts.username is not None or parts.password is not None or "@" in parts.netloc
    except ValueError:
        return bool(_USERINFO.search(url))


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` of ``url`` for a message: no user information, no query, no fragment."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return redact(url.split("?", 1)[0])[:PATH_SHOWN + 40]
    if not parts.scheme or not host:
        return redact(url.split("?", 1)[0])[:PATH_SHOWN + 40]
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{MASK}@" if "@" in parts.netloc else ""
    netloc += host + (f":{port}" if port is not None else "")
    path = parts.path if len(parts.path) <= PATH_SHOWN else parts.path[:PATH_SHOWN] + "…"
    suffix = "?…" if parts.query else ""
    return f"{parts.scheme}://{netloc}{path}{suffix}"
