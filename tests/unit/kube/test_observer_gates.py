"""The observer carries out the gate's rounds and the webhook calls the read plan asks for, and nothing else."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional, Sequence

from ripcord.api.models import GateStatus, ReleaseStatus, RolloutStatus, WebhookCall, Workload
from ripcord.engine.calls import GateRead, GateRound, HookRead, HookReply, Reply
from ripcord.api.template import template_hash
from tests.unit.kube.edge import RELEASES, T0, release, template, with_release

GATE = {"requests": [{"path": "/health"}], "interval": "1s"}
HOOK = {"name": "smoke", "type": "pre-rollout", "url": "https://hooks.test/smoke"}


class FakeProber:
    def __init__(self, refuse: Optional[str] = None) -> None:
        self.refuse = refuse
        self.runs: list[tuple[str, str, Optional[GateRead], tuple[HookRead, ...]]] = []

    def spec_problem(self, namespace: str, spec: Any) -> Optional[str]:
        return self.refuse

    def run(self, namespace: str, uid: str, gate: Optional[GateRead],
            hooks: Sequence[HookRead]) -> tuple[Optional[GateRound], tuple[HookReply, ...]]:
        self.runs.append((namespace, uid, gate, tuple(hooks)))
        ok = Reply(status=200, latency_ms=1.0)
        round_ = GateRound(gate.rollout_id, gate.round, tuple(ok for _ in gate.requests)) if gate else None
        return round_, tuple(HookReply(h.rollout_id, h.name, h.key, ok) for h in hooks)


def gating_status(**rollout: Any) -> dict[str, Any]:
    st = ReleaseStatus(
        stable=Workload(slot="a", deployment="web-a", version="1.0.0", template_hash="h1"),
        canary=Workload(slot="b", deployment="web-b", version="2.0.0",
                        template_hash=template_hash(template("2.0.0"), None)),  # the spec's: no dry run
        rollout=RolloutStatus(id=2, state="Progressing", step_started_at="2026-01-29T14:29:00Z",
                              started_at="2026-01-29T14:29:00Z", **rollout),
        webhooks=[WebhookCall(name="smoke", type="pre-rollout", rollout_id=2, key="pre-rollout")])
    return st.wire()


def observed(prober: Any, **spec: Any) -> Any:
    body = release("2.0.0", gate=GATE, webhooks=[HOOK], **spec)
    body["metadata"]["uid"] = "u-1"
    body["status"] = gating_status(gate=GateStatus(started_at="2026-01-29T14:29:59Z"))
    e = with_release(body)
    e.observer.prober = prober
    e.api.calls.clear()
    obs = e.observer.observe(e.reconciler.release("shop", "web"), T0)
    return e, obs


def test_a_due_round_and_a_due_call_go_to_the_prober_at_once_and_nothing_to_the_api() -> None:
    prober = FakeProber()
    e, obs = observed(prober)
    assert e.api.calls == []
    [(ns, uid, gate, hooks)] = prober.runs
    assert (ns, uid) == ("shop", "u-1")
    assert gate is not None and (gate.service, gate.port, gate.round, gate.rollout_id) == ("web-b", 80, 1, 2)
    assert [r.path for r in gate.requests] == ["/health"]
    assert [(h.name, h.key, h.attempt, h.url) for h in hooks] == [("smoke", "pre-rollout", 1, "https://hooks.test/smoke")]
    assert obs.gate is not None and obs.gate.replies[0].status == 200
    assert [h.reply.status for h in obs.hooks] == [200]


def test_nothing_is_sent_when_nothing_is_due() -> None:
    prober = FakeProber()
    body = release("2.0.0", gate=GATE)
    body["status"] = gating_status(gate=GateStatus(started_at="2026-01-29T14:29:59Z", rounds=1,
                                                   last_round_at=T0.timestamp() - 0.2))
    body["status"]["webhooks"] = []
    e = with_release(body)
    e.observer.prober = prober
    obs = e.observer.observe(e.reconciler.release("shop", "web"), T0)
    assert prober.runs == [] and obs.gate is None and obs.hooks == ()


def test_a_webhook_the_configuration_refuses_is_an_invalid_spec_and_nothing_is_called() -> None:
    prober = FakeProber(refuse="spec.webhooks[smoke].url: webhook URL 'https://hooks.test/smoke' is not allowed")
    _, obs = observed(prober)
    assert obs.spec_error is not None and obs.spec_error.startswith("spec.webhooks[smoke].url")
    assert obs.spec_error_reason == "InvalidSpec" and prober.runs == []


def test_without_a_prober_nothing_passes() -> None:
    _, obs = observed(None)
    assert obs.gate is not None and all(r.status is None and r.error for r in obs.gate.replies)
    assert all(h.reply.status is None for h in obs.hooks)


def test_the_mirror_served_is_read_from_the_route_in_the_store() -> None:
    e = with_release(release("1.0.0", traffic={"provider": "gateway-api", "gatewayRef": {"name": "gw"},
                                               "mirror": {"percent": 10}}))
    body = e.api.get(f"{RELEASES}/web")
    assert body is not None
    body["status"] = gating_status(mirror=10)
    body["status"]["webhooks"] = []
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
             "metadata": {"name": "web", "namespace": "shop", "generation": 3, "labels": {"ripcord.dev/release": "web"}},
             "spec": {"rules": [{"backendRefs": [{"name": "web-a", "weight": 100}, {"name": "web-b", "weight": 0}],
                                 "filters": [{"type": "RequestMirror", "requestMirror": {
                                     "backendRef": {"name": "web-b", "port": 80}, "percent": 10}}]}]},
             "status": {"parents": [{"conditions": [{"type": "Accepted", "status": "True",
                                                     "observedGeneration": 3}]}]}}
    e.stores.routes.apply("ADDED", route)
    e.stores.releases.apply("MODIFIED", body)
    obs = e.observer.observe(e.reconciler.release("shop", "web"), T0 + dt.timedelta(seconds=1))
    assert obs.effective_mirror == 10.0 and obs.effective_weight == 0.0
