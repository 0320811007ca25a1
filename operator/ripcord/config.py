"""The operator's own configuration: which Prometheus and webhook addresses may be used.

A Release is written by application teams; the operator runs with cluster credentials
inside the cluster network. If a Release could name any URL, the operator would fetch
(Prometheus) or post (webhooks) wherever a tenant asks: a server-side request forgery
hole. So every address comes from here, the platform team's file, and a Release only
*names* an allowed Prometheus (or repeats an allowed address). Credentials and CA bundles
come from Secrets in the operator's own namespace, read through a callable passed in, so
this module stays pure and testable.

Tenancy: each Prometheus instance lists the namespaces whose Releases may use it
(``namespaces``, shell-style patterns; the default instance: every namespace unless it says
otherwise, a named instance: none unless it lists them), and the namespaces whose custom
queries may read series of other namespaces (``crossNamespaceQueries``; default none:
every selector of a custom query must then pin the Release's namespace, see
:mod:`ripcord.analysis.scope`). URLs carry no credentials: a ``user:password@`` URL is
refused here and in a Release, and messages show URLs through :func:`ripcord.redact.safe_url`.

File: ``$RIPCORD_CONFIG`` (YAML), or the defaults below when unset::

    namespace: ripcord-system          # where credential Secrets live
    prometheus:
      default: http://prometheus.monitoring.svc:9090    # a URL, or a mapping as below
      instances:
        team-a:
          url: https://prometheus.team-a.svc:9090
          namespaces: [team-a, "team-a-*"]   # who may use it (default instance: ["*"]; others: [])
          crossNamespaceQueries: []          # whose custom queries may leave their namespace
          bearerTokenSecret: {name: prom-team-a, key: token}   # or just "prom-team-a"
          caSecret: {name: prom-team-a, key: ca.crt}
          insecureSkipVerify: false
          timeoutSeconds: 2            # hard limit of one query
          scrapeIntervalSeconds: 15    # sets windows and the settling lag
    webhooks:
      allowedUrls: [https://hooks.slack.com/services/]   # prefixes, compared after normalisation
    metricSources:                     # how the built-in metrics find their series
      gateway: {preset: istio}         # or field overrides, e.g. {codeLabel: status}
    analysis:
      deadlineSeconds: 8               # one analysis, all queries together
    gates:
      serviceUrl: "http://{service}.{namespace}.svc:{port}"   # how the pre-traffic gate reaches a
                                       # Release's own canary Service (never a URL from a Release)
"""
from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

import yaml

from .sources import APP, GATEWAY, ISTIO, PRESETS, SourceProfile
from .redact import has_userinfo, redact, safe_url
from .urlnorm import UrlError, normalize_http_url, path_within

#: Reads a Secret: (namespace, name) -> its data, values already decoded to text.
SecretReader = Callable[[str, str], Mapping[str, str]]

DEFAULT_PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"
ENV_CONFIG = "RIPCORD_CONFIG"
ENV_PROMETHEUS_URL = "RIPCORD_PROMETHEUS_URL"  # convenience for local runs without a file
DEFAULT_GATE_SERVICE_URL = "http://{service}.{namespace}.svc:{port}"
GATE_URL_FIELDS = ("service", "namespace", "port")


class ConfigError(ValueError):
    """The operator's configuration file is invalid."""


class NotAllowed(Exception):
    """A Release asks for an address the operator's configuration does not allow."""


@dataclasses.dataclass(frozen=True)
class SecretKeyRef:
    name: str
    key: str


@dataclasses.dataclass(frozen=True)
class PromInstance:
    """A Prometheus as configured (credentials by reference)."""

    name: str
    url: str
    timeout_s: float = 2.0
    bearer_token_secret: Optional[SecretKeyRef] = None
    ca_secret: Optional[SecretKeyRef] = None
    insecure_skip_verify: bool = False
    scrape_interval_s: float = 15.0
    settle_s: Optional[float] = None  # default: min(scrape interval, 2 s)
    namespaces: tuple[str, ...] = ("*",)  # patterns of the namespaces that may use it
    cross_namespace_queries: tuple[str, ...] = ()  # patterns: custom queries not pinned to their namespace

    def usable_from(self, namespace: str) -> bool:
        return any(fnmatch.fnmatchcase(namespace, p) for p in self.namespaces)

    def unscoped_queries_from(self, namespace: str) -> bool:
        """Whether custom queries of Releases in ``namespace`` may read other namespaces' series."""
        return any(fnmatch.fnmatchcase(namespace, p) for p in self.cross_namespace_queries)


@dataclasses.dataclass(frozen=True)
class PromEndpoint:
    """A Prometheus ready to query: address, limits, and the credentials read from Secrets."""

    name: str
    url: str
    timeout_s: float = 2.0
    bearer_token: Optional[str] = dataclasses.field(default=None, repr=False)
    ca_pem: Optional[str] = dataclasses.field(default=None, repr=False)
    insecure_skip_verify: bool = False
    scrape_interval_s: float = 15.0
    settle_s: float = 2.0


@dataclasses.dataclass(frozen=True)
class OperatorConfig:
    namespace: str = "ripcord-system"
    prometheus_default: PromInstance = dataclasses.field(
        default_factory=lambda: PromInstance("default", DEFAULT_PROMETHEUS_URL))
    prometheus_instances: Mapping[str, PromInstance] = dataclasses.field(default_factory=dict)
    webhook_allowed_urls: tuple[str, ...] = ()
    metric_sources: Mapping[str, SourceProfile] = dataclasses.field(
        default_factory=lambda: {"app": APP, "gateway": GATEWAY})
    analysis_deadline_s: float = 8.0
    gate_service_url: str = DEFAULT_GATE_SERVICE_URL  # a template over GATE_URL_FIELDS

    # ------------------------------------------------------------------ prometheus

    def allowed_prometheus(self) -> dict[str, PromInstance]:
        return {"default": self.prometheus_default, **self.prometheus_instances}

    def find_prometheus(self, ref: Any, namespace: Optional[str] = None) -> PromInstance:
        """The configured instance a Release's ``analysis.prometheus`` names.

        ``ref`` has ``name`` and optional ``address`` (a ``PrometheusRef`` or a mapping).
        An address must be one of the configured URLs; a name must be configured. With
        ``namespace`` (the Release's), the instance must also allow that namespace; only the
        operator's own tools may leave it out. Messages name ``spec.analysis.prometheus``
        and never show credentials.
        """
        name = _get(ref, "name") or "default"
        address = _get(ref, "address")
        allowed = self.allowed_prometheus()
        names = ", ".join(sorted(allowed))
        inst: Optional[PromInstance] = None
        if address:
            if has_userinfo(str(address)):
                raise NotAllowed("spec.analysis.prometheus.address: credentials in the URL (user:password@) are "
                                 f"not allowed ({safe_url(str(address))}); name a configured instance instead "
                                 f"({names}): its credentials come from the operator's Secrets")
            wanted = _normal_url(address)
            candidates = [allowed[name]] if name != "default" and name in allowed else list(allowed.values())
            inst = next((i for i in candidates if _normal_url(i.url) == wanted), None)
            if inst is None:
                raise NotAllowed(f"spec.analysis.prometheus.address: {safe_url(str(address))!r} is not allowed "
                                 f"by the operator's configuration; name one of the allowed Prometheus "
                                 f"instances instead ({names})")
        elif name not in allowed:
            raise NotAllowed(f"spec.analysis.prometheus.name: Prometheus {name!r} is not in the operator's "
                             f"configuration; allowed: {names}")
        else:
            inst = allowed[name]
        if namespace is not None and not inst.usable_from(namespace):
            usable = sorted(n for n, i in allowed.items() if i.usable_from(namespace))
            raise NotAllowed(f"spec.analysis.prometheus: Prometheus {inst.name!r} may not be used from namespace "
                             f"{namespace!r} (operator configuration: {_where(inst)}.namespaces); "
                             f"allowed here: {', '.join(usable) or 'none'}")
        return inst

    def resolve_prometheus(self, ref: Any, secret_reader: Optional[SecretReader] = None,
                           namespace: Optional[str] = None) -> PromEndpoint:
        """Resolve a Release's Prometheus reference to an endpoint with its credentials.

        Raises :class:`NotAllowed` for an address or name not configured (or not allowed
        from ``namespace``), and :class:`ConfigError` when a referenced Secret or key
        cannot be read.
        """
        inst = self.find_prometheus(ref, namespace)
        token = self._secret(inst.bearer_token_secret, secret_reader, inst.name) if inst.bearer_token_secret else None
        ca = self._secret(inst.ca_secret, secret_reader, inst.name) if inst.ca_secret else None
        settle = inst.settle_s if inst.settle_s is not None else min(inst.scrape_interval_s, 2.0)
        return PromEndpoint(name=inst.name, url=inst.url.rstrip("/"), timeout_s=inst.timeout_s,
                            bearer_token=token.strip() if token else None, ca_pem=ca,
                            insecure_skip_verify=inst.insecure_skip_verify,
                            scrape_interval_s=inst.scrape_interval_s, settle_s=settle)

    def _secret(self, ref: SecretKeyRef, reader: Optional[SecretReader], instance: str) -> str:
        if reader is None:
            raise ConfigError(f"Prometheus {instance!r} needs Secret {ref.name!r} but no Secret reader is set")
        try:
            data = reader(self.namespace, ref.name)
        except Exception as e:  # noqa: BLE001 - any failure is reported the same way
            raise ConfigError(f"cannot read Secret {self.namespace}/{ref.name} for Prometheus {instance!r}: "
                              f"{_reason(e)}") from e
        if not data or ref.key not in data:
            raise ConfigError(f"Secret {self.namespace}/{ref.name} has no key {ref.key!r} "
                              f"(needed by Prometheus {instance!r})")
        return data[ref.key]

    # -------------------------------------------------------------------- webhooks

    def check_webhook_url(self, url: str) -> str:
        """The normalised ``url`` (the one to send to) if an allowed prefix covers it; else :class:`NotAllowed`.

        The URL is normalised first (:mod:`ripcord.urlnorm`: dot segments and encoded
        unreserved characters resolved, encoded slashes refused), so a path cannot leave an
        allowed prefix (``/hook/../admin``). Scheme, host and port must match exactly (so
        ``https://hooks.example.com`` does not allow ``https://hooks.example.com.evil.net``)
        and the path must continue the prefix at a ``/`` boundary. The message shows the
        URL without credentials or query.
        """
        try:
            normal = normalize_http_url(url)
        except UrlError as e:
            raise NotAllowed(f"webhook URL {safe_url(str(url))!r} is refused: {e}") from None
        target = urlsplit(normal)
        for prefix in self.webhook_allowed_urls:
            p = urlsplit(prefix)
            if (p.scheme, p.hostname, _port(p.scheme, p.port)) != \
                    (target.scheme, target.hostname, _port(target.scheme, target.port)):
                continue
            if path_within(target.path or "/", p.path or "/"):
                return normal
        raise NotAllowed(f"webhook URL {safe_url(normal)!r} is not allowed by the operator's configuration "
                         f"(webhooks.allowedUrls)")

    def webhook_allowed(self, url: str) -> bool:
        try:
            self.check_webhook_url(url)
        except NotAllowed:
            return False
        return True

    # ------------------------------------------------------------------ sources

    def source(self, name: str) -> SourceProfile:
        try:
            return self.metric_sources[name]
        except KeyError:
            raise ConfigError(f"no metric source {name!r}; configured: {', '.join(sorted(self.metric_sources))}") \
                from None


def _get(ref: Any, key: str) -> Any:
    if ref is None:
        return None
    if isinstance(ref, Mapping):
        return ref.get(key)
    return getattr(ref, key, None)


def _where(inst: PromInstance) -> str:
    return "prometheus.default" if inst.name == "default" else f"prometheus.instances.{inst.name}"


def _reason(exc: BaseException, limit: int = 300) -> str:
    """An exception's text for a message: credentials masked, bounded."""
    text = redact(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= limit else text[:limit] + "…"


def _port(scheme: str, port: Optional[int]) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


def _normal_url(url: str) -> tuple[str, str, int, str]:
    try:
        u = urlsplit(url.strip())
        return (u.scheme.lower(), (u.hostname or "").lower(), _port(u.scheme.lower(), u.port), u.path.rstrip("/"))
    except ValueError:
        return ("", url, 0, "")


# ----------------------------------------------------------------------------- parsing

def _secret_ref(value: Any, default_key: str, where: str) -> Optional[SecretKeyRef]:
    if value is None:
        return None
    if isinstance(value, str):
        return SecretKeyRef(value, default_key)
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        extra = set(value) - {"name", "key"}
        if extra:
            raise ConfigError(f"{where}: unknown keys {sorted(extra)}")
        return SecretKeyRef(value["name"], str(value.get("key", default_key)))
    raise ConfigError(f"{where}: expected a Secret name or {{name, key}}")


_INSTANCE_KEYS = {"url", "bearerTokenSecret", "caSecret", "insecureSkipVerify", "timeoutSeconds",
                  "scrapeIntervalSeconds", "settleSeconds", "namespaces", "crossNamespaceQueries"}
_NAMESPACE_PATTERN = re.compile(r"^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$")


def _patterns(value: Any, default: tuple[str, ...], where: str) -> tuple[str, ...]:
    """A list of namespace names or shell-style patterns (``team-b-*``)."""
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 63 and _NAMESPACE_PATTERN.fullmatch(v)
                                              for v in value):
        raise ConfigError(f"{where}: expected a list of namespace names or patterns (a-z, 0-9, '-', '*', '?'), "
                          f"got {value!r}"[:400])
    return tuple(value)


def _positive(value: Any, where: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if not v > 0:
        raise ConfigError(f"{where}: must be > 0")
    return v


def _instance(name: str, data: Any) -> PromInstance:
    where = f"prometheus.instances.{name}" if name != "default" else "prometheus.default"
    if isinstance(data, str):
        data = {"url": data}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a URL or a mapping")
    unknown = set(data) - _INSTANCE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_INSTANCE_KEYS)}")
    url = data.get("url")
    if isinstance(url, str) and has_userinfo(url):
        raise ConfigError(f"{where}.url: credentials in the URL (user:password@) are not allowed: they would show "
                          f"in messages ({safe_url(url)}); use bearerTokenSecret")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ConfigError(f"{where}.url: expected an http(s) URL, got {safe_url(str(url))!r}")
    settle = data.get("settleSeconds")
    return PromInstance(
        name=name, url=url,
        timeout_s=_positive(data.get("timeoutSeconds", 2.0), f"{where}.timeoutSeconds"),
        bearer_token_secret=_secret_ref(data.get("bearerTokenSecret"), "token", f"{where}.bearerTokenSecret"),
        ca_secret=_secret_ref(data.get("caSecret"), "ca.crt", f"{where}.caSecret"),
        insecure_skip_verify=bool(data.get("insecureSkipVerify", False)),
        scrape_interval_s=_positive(data.get("scrapeIntervalSeconds", 15.0), f"{where}.scrapeIntervalSeconds"),
        settle_s=None if settle is None else float(settle),
        namespaces=_patterns(data.get("namespaces"), ("*",) if name == "default" else (), f"{where}.namespaces"),
        cross_namespace_queries=_patterns(data.get("crossNamespaceQueries"), (), f"{where}.crossNamespaceQueries"),
    )


def _check_keys(data: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")


def parse_config(data: Optional[Mapping[str, Any]], env: Mapping[str, str] | None = None) -> OperatorConfig:
    """Build an :class:`OperatorConfig` from the file's parsed YAML (None: defaults)."""
    env = os.environ if env is None else env
    data = data or {}
    if not isinstance(data, Mapping):
        raise ConfigError("configuration must be a mapping")
    _check_keys(data, {"namespace", "prometheus", "webhooks", "metricSources", "analysis", "gates"}, "configuration")
    prom = data.get("prometheus") or {}
    _check_keys(prom, {"default", "instances"}, "prometheus")
    default = _instance("default", prom.get("default") or env.get(ENV_PROMETHEUS_URL) or DEFAULT_PROMETHEUS_URL)
    instances_raw = prom.get("instances") or {}
    if not isinstance(instances_raw, Mapping):
        raise ConfigError("prometheus.instances: expected a mapping of name to instance")
    if "default" in instances_raw:
        raise ConfigError("prometheus.instances: 'default' is reserved; set prometheus.default")
    instances = {str(n): _instance(str(n), v) for n, v in instances_raw.items()}

    hooks = data.get("webhooks") or {}
    _check_keys(hooks, {"allowedUrls"}, "webhooks")
    allowed = hooks.get("allowedUrls") or []
    if not isinstance(allowed, list) or not all(isinstance(u, str) for u in allowed):
        raise ConfigError("webhooks.allowedUrls: expected a list of URL prefixes")
    prefixes = []
    for u in allowed:
        try:
            prefixes.append(normalize_http_url(u))
        except UrlError as e:
            raise ConfigError(f"webhooks.allowedUrls: {safe_url(u)!r} is not a usable http(s) URL prefix: {e}") \
                from None

    sources: dict[str, SourceProfile] = {"app": APP, "gateway": GATEWAY, "istio": ISTIO}
    for name, spec in (data.get("metricSources") or {}).items():
        if name not in sources:
            raise ConfigError(f"metricSources: unknown source {name!r} (app, gateway, istio)")
        if not isinstance(spec, Mapping):
            raise ConfigError(f"metricSources.{name}: expected a mapping")
        spec = dict(spec)
        base = sources[name]
        if "preset" in spec:
            preset = spec.pop("preset")
            if preset not in PRESETS:
                raise ConfigError(f"metricSources.{name}.preset: {preset!r}; known: {sorted(PRESETS)}")
            base = PRESETS[preset]
        try:
            sources[name] = SourceProfile.from_mapping(base, spec)
        except Exception as e:  # noqa: BLE001
            raise ConfigError(f"metricSources.{name}: {e}") from e

    analysis = data.get("analysis") or {}
    _check_keys(analysis, {"deadlineSeconds"}, "analysis")
    deadline = _positive(analysis.get("deadlineSeconds", 8.0), "analysis.deadlineSeconds")

    gates = data.get("gates") or {}
    _check_keys(gates, {"serviceUrl"}, "gates")
    gate_url = _gate_service_url(gates.get("serviceUrl", DEFAULT_GATE_SERVICE_URL))

    return OperatorConfig(namespace=str(data.get("namespace") or env.get("RIPCORD_NAMESPACE") or "ripcord-system"),
                          prometheus_default=default, prometheus_instances=instances,
                          webhook_allowed_urls=tuple(prefixes), metric_sources=sources,
                          analysis_deadline_s=deadline, gate_service_url=gate_url)


def _gate_service_url(template: Any) -> str:
    """``gates.serviceUrl``: an http(s) URL template with {service}, {namespace} and {port} and nothing else."""
    if not isinstance(template, str):
        raise ConfigError("gates.serviceUrl: expected a URL template such as "
                          f"{DEFAULT_GATE_SERVICE_URL!r}")
    fields = re.findall(r"\{([^{}]*)\}", template)
    unknown = sorted(set(fields) - set(GATE_URL_FIELDS))
    if unknown or "{service}" not in template:
        raise ConfigError(f"gates.serviceUrl: {template!r} must name {{service}} (and may name {{namespace}}, "
                          f"{{port}}); unknown: {unknown or 'none'}")
    sample = template.format(service="web-b", namespace="shop", port=80)
    u = urlsplit(sample)
    if u.scheme not in ("http", "https") or not u.hostname or u.query or u.fragment or has_userinfo(sample):
        raise ConfigError(f"gates.serviceUrl: {template!r} is not an http(s) URL without credentials, query "
                          "or fragment")
    return template


def load_config(path: Optional[str] = None, env: Mapping[str, str] | None = None) -> OperatorConfig:
    """Read ``path`` (default ``$RIPCORD_CONFIG``); defaults when neither is set."""
    env = os.environ if env is None else env
    path = path or env.get(ENV_CONFIG)
    if not path:
        return parse_config(None, env)
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"cannot read configuration {path}: {e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"configuration {path} is not valid YAML: {e}") from e
    return parse_config(data, env)
