"""The Kubernetes API client the operator uses: every request bounded in time, and counted.

The kubernetes package sends a request with no timeout unless each call passes
``_request_timeout``; one forgotten call against an API server that accepts connections and
never answers would hold a worker for ever. :class:`BoundedApiClient` gives every request a
default (connect, read) timeout at the one place all generated calls go through, and counts
it (``ripcord.telemetry.kubecalls``: ``ripcord_kube_api_requests_total{verb,resource}`` in the
API server's own vocabulary), so the figures of ``make bench-scale`` are counted at the client. Kopf's own watch connections are not seen here:
they have Kopf's own timeouts (``ripcord.operator``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from ripcord import labels
from ripcord.kube import safejson

#: (connect, read) seconds: a write that has not answered in 5 s is abandoned (it would be
#: retried by the next reconcile), which also keeps every write inside the leader's lease.
DEFAULT_TIMEOUT = (3.0, 5.0)

#: (method, url) -> None: called once per request, before it is sent (ripcord.telemetry.kubecalls counts)
RequestCounter = Callable[[str, str], None]

Timeout = Union[float, tuple[float, float]]

USER_AGENT = f"ripcord/{labels.version()}"


class BoundedApiClient(client.ApiClient):  # type: ignore[misc]
    """An ApiClient whose requests all have a timeout, and are counted."""

    def __init__(self, configuration: Optional[client.Configuration] = None, *,
                 timeout: Timeout = DEFAULT_TIMEOUT, counter: Optional[RequestCounter] = None) -> None:
        super().__init__(configuration)
        self.user_agent = USER_AGENT  # who asked, in the API server's audit log and request metrics
        self.default_timeout = timeout
        self.counter = counter

    def call_api(self, method: str, url: str, header_params: Any = None, body: Any = None,
                 post_params: Any = None, _request_timeout: Optional[Timeout] = None) -> Any:
        if self.counter is not None:
            self.counter(method, url)
        return super().call_api(method, url, header_params, body, post_params,
                                _request_timeout=_request_timeout if _request_timeout is not None
                                else self.default_timeout)


def load_configuration(kubeconfig: Optional[str]) -> client.Configuration:
    """In-cluster credentials, or the kubeconfig (the given file, else the default one)."""
    cfg = client.Configuration()
    if kubeconfig:
        config.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        return cfg
    try:
        config.load_incluster_config(client_configuration=cfg)
    except config.ConfigException:
        config.load_kube_config(client_configuration=cfg)
    return cfg


def api_client(kubeconfig: Optional[str] = None, *, counter: Optional[RequestCounter] = None,
               timeout: Timeout = DEFAULT_TIMEOUT, connections: int = 10) -> BoundedApiClient:
    """``connections``: kept-alive connections to the API server, one per thread that may call at once
    (fewer, and every call beyond them opens a new TLS connection and throws it away)."""
    cfg = load_configuration(kubeconfig)
    cfg.connection_pool_maxsize = max(1, connections)
    return BoundedApiClient(cfg, timeout=timeout, counter=counter)


def send(api: client.ApiClient, method: str, path: str, body: Any = None, *,
         query: Sequence[tuple[str, Any]] = (), content_type: str = "application/json") -> Any:
    """A request with a JSON body sent as it is, the answer decoded (depth-bounded).

    The generated methods validate typed bodies against the client's own models first, which
    refuse valid Kubernetes (``cpu: 1``, a field newer than the client): a pod template from
    a user goes through here instead, and the API server is the one that judges it.
    Raises ``ApiException`` for an answer that is not 2xx, as the generated methods do.
    """
    _method, url, headers, serialized, _post = api.param_serialize(
        method=method, resource_path=path, query_params=list(query),
        header_params={"Content-Type": content_type, "Accept": "application/json"}, body=body,
        auth_settings=["BearerToken"])
    resp = api.call_api(method, url, header_params=headers, body=serialized)
    data = resp.read()
    if not 200 <= resp.status <= 299:
        raise ApiException(http_resp=resp)
    return safejson.loads(data) if data else None
