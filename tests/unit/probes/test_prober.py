"""The prober against real HTTP servers on loopback: deadlines, refusals, the allow-list, the canary's address."""
from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from typing import Any, Iterator

import pytest

from ripcord.api.models import GateRequest
from ripcord.config import parse_config
from ripcord.engine.calls import GateRead, HookRead
from ripcord.probes.http import Caller
from ripcord.probes.prober import Prober
from ripcord.probes.target import TargetError, request_url


class Server:
    """Answers by path: /ok 200, /bad 500 with a body, /slow after 3 s, /redirect 302, /trickle a slow body."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.stop = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                   "body": body})
                path = self.path.split("?")[0].rsplit("/", 1)[-1]
                if path == "slow":
                    owner.stop.wait(3)
                if path == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    for _ in range(50):
                        if owner.stop.wait(0.2):
                            return
                        self.wfile.write(b"x")
                        self.wfile.flush()
                    return
                code = {"bad": 500, "redirect": 302, "denied": 403}.get(path, 200)
                text = b"TypeError: Cannot read property 'toString' of undefined" if code == 500 else b"ok"
                self.send_response(code)
                if code == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def prober(server: Server, allowed: tuple[str, ...] = ()) -> Prober:
    cfg = parse_config({"webhooks": {"allowedUrls": list(allowed) or [f"http://127.0.0.1:{server.port}/hooks/"]},
                        "gates": {"serviceUrl": f"http://127.0.0.1:{server.port}/proxy/{{namespace}}/{{service}}/{{port}}"}},
                       env={})
    return Prober(service_url=cfg.gate_service_url, check_url=cfg.check_webhook_url, caller=Caller(workers=4))


def gate(*paths: str, timeout_s: float = 1.0) -> GateRead:
    return GateRead(rollout_id=2, round=1, service="web-b", port=80,
                    requests=tuple(GateRequest(path=p) for p in paths), timeout_s=timeout_s)


def test_gate_requests_go_to_the_canary_service_by_the_template_and_bring_back_status_and_body(server: Server) -> None:
    round_, hooks = prober(server).run("shop", "u-1", gate("/ok", "/bad", "/redirect?x=1"), [])
    assert round_ is not None and hooks == ()
    ok, bad, redirect = round_.replies
    assert ok.status == 200 and ok.latency_ms is not None and ok.latency_ms < 1000
    assert bad.status == 500 and bad.body_head.startswith("TypeError: Cannot read property")
    assert redirect.status == 302, "a redirect is the canary's answer, not followed"
    assert sorted(s["path"] for s in server.seen) == ["/proxy/shop/web-b/80/bad", "/proxy/shop/web-b/80/ok",
                                                      "/proxy/shop/web-b/80/redirect?x=1"]  # sent at once


def test_a_hung_or_trickling_canary_is_no_answer_within_the_deadline(server: Server) -> None:
    start = time.monotonic()
    round_, _ = prober(server).run("shop", "u-1", gate("/slow", "/trickle", timeout_s=0.5), [])
    took = time.monotonic() - start
    assert round_ is not None
    slow, trickle = round_.replies
    assert slow.status is None and slow.error == "no answer within 0.5s"
    assert trickle.status is None and trickle.error == "no answer within 0.5s", \
        "the answer (up to the body's first bytes) must come within the timeout"
    assert took < 0.5 + 1.0, f"bounded by the timeout (plus slack), took {took:.2f}s"


def test_a_refused_connection_is_no_answer() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = Prober(service_url=f"http://127.0.0.1:{port}/{{service}}", check_url=lambda u: u, caller=Caller(workers=2))
    round_, _ = p.run("shop", "u-1", gate("/health"), [])
    assert round_ is not None and round_.replies[0].status is None
    assert round_.replies[0].error == "connection refused"


def test_webhooks_are_posted_to_the_normalised_allowed_url_with_the_namespace_and_the_canary_address(
        server: Server) -> None:
    hook = HookRead(rollout_id=2, name="smoke", type="pre-rollout", key="pre-rollout",
                    url=f"http://127.0.0.1:{server.port}/hooks/x/../smoke", timeout_s=1.0, attempt=1,
                    payload={"name": "web", "phase": "pre-rollout", "canary": {"service": "web-b"}},
                    service="web-b", port=80)
    _, [reply] = prober(server).run("shop", "u-1", None, [hook])
    assert reply.reply.status == 200
    [seen] = server.seen
    assert seen["method"] == "POST" and seen["path"] == "/hooks/smoke"
    body = json.loads(seen["body"])
    assert body["namespace"] == "shop" and body["canary"]["url"] == f"http://127.0.0.1:{server.port}/proxy/shop/web-b/80"
    assert seen["headers"]["Idempotency-Key"] == "u-1/2/smoke/pre-rollout"


def test_a_webhook_outside_the_allow_list_is_never_called_and_never_passes(server: Server) -> None:
    hook = HookRead(rollout_id=2, name="x", type="rollback", key="rollback",
                    url=f"http://127.0.0.1:{server.port}/hooks/../admin", timeout_s=1.0, attempt=1, payload={})
    _, [reply] = prober(server).run("shop", "u-1", None, [hook])
    assert reply.reply.status is None and "not allowed" in (reply.reply.error or "")
    assert server.seen == []


def test_a_gate_path_cannot_leave_the_services_address() -> None:
    template = "http://gw:8080/proxy/{namespace}/{service}/{port}"
    assert request_url(template, "web-b", "shop", 80, "/health?deep=1") == "http://gw:8080/proxy/shop/web-b/80/health?deep=1"
    for bad in ("/../../other/svc/80/admin", "/%2e%2e/%2e%2e/other", "/a%2Fb"):
        with pytest.raises(TargetError):
            request_url(template, "web-b", "shop", 80, bad)
    assert request_url("http://{service}.{namespace}.svc:{port}", "web-b", "shop", 80, "/../x") == \
        "http://web-b.shop.svc/x", "with cluster DNS a dot segment stays on the Service (port 80 is the default)"


def test_the_spec_check_names_the_field(server: Server) -> None:
    from ripcord.api.models import ReleaseSpec
    spec = ReleaseSpec.model_validate({"version": "1", "workloadRef": {"name": "x"},
                                       "webhooks": [{"name": "w", "type": "pre-rollout",
                                                     "url": "https://elsewhere.test/hook"}]})
    problem = prober(server).spec_problem("shop", spec)
    assert problem is not None and problem.startswith("spec.webhooks[w].url: webhook URL 'https://elsewhere.test/hook'")
    spec = ReleaseSpec.model_validate({"version": "1", "workloadRef": {"name": "x"},
                                       "gate": {"requests": [{"path": "/ok"}, {"path": "/../../x"}]}})
    assert prober(server).spec_problem("shop", spec) == \
        "spec.gate.requests[1].path: the path '/../../x' leaves the canary Service's address"
