"""Where the pre-traffic gate sends a request: the canary's own Service, by the configured template.

The address is never taken from a Release. The operator's configuration names a template
(``gates.serviceUrl``, default ``http://{service}.{namespace}.svc:{port}``: cluster DNS) and
the engine names the Service (the canary slot's, derived from the Release's name); a
request's ``path`` is appended and the result normalised (RFC 3986, as webhook URLs are).
A path that would leave the Service's address (``/../``, an encoded slash) is refused, so a
template with a path prefix (a proxy, as on the sandbox) cannot be escaped either.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from ripcord.urlnorm import UrlError, normalize_http_url, path_within


class TargetError(ValueError):
    """A request path that cannot be sent to the Service's address."""


def service_base(template: str, service: str, namespace: str, port: int) -> str:
    """The Service's normalised address, without a trailing slash."""
    return normalize_http_url(template.format(service=service, namespace=namespace, port=port)).rstrip("/")


def request_url(template: str, service: str, namespace: str, port: int, path: str) -> str:
    """The normalised URL of ``path`` on the Service; :class:`TargetError` if it would leave it."""
    try:
        base = service_base(template, service, namespace, port)
        url = normalize_http_url(base + path)
    except UrlError as e:
        raise TargetError(str(e)) from None
    b, u = urlsplit(base), urlsplit(url)
    if (b.scheme, b.netloc) != (u.scheme, u.netloc) or not path_within(u.path, b.path or "/"):
        raise TargetError(f"the path {path!r} leaves the canary Service's address")
    return url
