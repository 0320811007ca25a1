"""Carry out the gate rounds and webhook calls of a read plan, and check what a Release may call.

The observer hands the :class:`Prober` what :func:`ripcord.engine.reads.plan_reads` asked for
(:class:`~ripcord.engine.calls.GateRead`, :class:`~ripcord.engine.calls.HookRead`); all of it runs
at once on a bounded pool, and the prober returns within the longest timeout asked (plus a
little). Every webhook URL is checked against the operator's allow-list, after
normalisation, right before it is called, and the call goes to exactly the normalised URL
the check approved; a refused URL is a failed call. The canary's address comes from the
configured template only.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Optional, Sequence

from ripcord.api.models import ReleaseSpec
from ripcord.engine.calls import GateRead, GateRound, HookRead, HookReply, Reply
from ripcord.probes.http import Call, Caller
from ripcord.probes.target import TargetError, request_url, service_base

#: Returns the normalised URL to call, or raises (``OperatorConfig.check_webhook_url``).
UrlCheck = Callable[[str], str]
USER_AGENT = "ripcord-operator"
MESSAGE_LIMIT = 2000


class Prober:
    def __init__(self, *, service_url: str, check_url: UrlCheck, caller: Optional[Caller] = None) -> None:
        self.service_url = service_url
        self.check_url = check_url
        self.caller = caller or Caller()

    # ---------------------------------------------------------------- the spec check

    def spec_problem(self, namespace: str, spec: ReleaseSpec) -> Optional[str]:
        """Why the gate or a gating webhook of this spec may not be used (field-named), or None."""
        for hook in spec.webhooks:
            try:
                self.check_url(hook.url)
            except Exception as exc:  # noqa: BLE001 - NotAllowed, with the reason
                return f"spec.webhooks[{hook.name}].url: {exc}"[:MESSAGE_LIMIT]
        if spec.gate is not None:
            for i, r in enumerate(spec.gate.requests):
                try:
                    request_url(self.service_url, "canary", namespace, 80, r.path)
                except TargetError as exc:
                    return f"spec.gate.requests[{i}].path: {exc}"[:MESSAGE_LIMIT]
        return None

    # ---------------------------------------------------------------- the calls

    def run(self, namespace: str, uid: str, gate: Optional[GateRead],
            hooks: Sequence[HookRead]) -> tuple[Optional[GateRound], tuple[HookReply, ...]]:
        calls: list[Optional[Call]] = []
        refused: list[Optional[str]] = []
        if gate is not None:
            for r in gate.requests:
                try:
                    url = request_url(self.service_url, gate.service, namespace, gate.port, r.path)
                except TargetError as exc:
                    calls.append(None)
                    refused.append(str(exc))
                    continue
                headers = {"User-Agent": USER_AGENT, **r.headers}
                calls.append(Call(r.method, url, gate.timeout_s, headers,
                                  r.body.encode() if r.body is not None else None))
                refused.append(None)
        for h in hooks:
            try:
                url = self.check_url(h.url)
            except Exception as exc:  # noqa: BLE001 - not allowed (any more): a failed call, never sent
                calls.append(None)
                refused.append(f"not sent: {exc}"[:300])
                continue
            body = json.dumps(self._payload(namespace, h), separators=(",", ":")).encode()
            headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json",
                       "Idempotency-Key": f"{uid}/{h.rollout_id}/{h.name}/{h.key}"}
            calls.append(Call("POST", url, h.timeout_s, headers, body))
            refused.append(None)
        made = iter(self.caller.run([c for c in calls if c is not None]))
        replies = [next(made) if c is not None else Reply(error=why) for c, why in zip(calls, refused)]
        round_ = None
        if gate is not None:
            round_ = GateRound(gate.rollout_id, gate.round, tuple(replies[:len(gate.requests)]))
            replies = replies[len(gate.requests):]
        return round_, tuple(HookReply(h.rollout_id, h.name, h.key, rep) for h, rep in zip(hooks, replies))

    def _payload(self, namespace: str, h: HookRead) -> Mapping[str, Any]:
        body = {**h.payload, "namespace": namespace}
        if h.service is not None and h.port is not None and isinstance(body.get("canary"), Mapping):
            try:
                body["canary"] = {**body["canary"],
                                  "url": service_base(self.service_url, h.service, namespace, h.port)}
            except Exception:  # noqa: BLE001 - the address is a convenience for load testers
                pass
        return body

    def close(self) -> None:
        self.caller.close()


def unconfigured(gate: Optional[GateRead], hooks: Sequence[HookRead]) -> tuple[Optional[GateRound],
                                                                             tuple[HookReply, ...]]:
    """What an observer without a prober reports: nothing was sent, so nothing passed."""
    why = Reply(error="no prober configured in this operator")
    round_ = GateRound(gate.rollout_id, gate.round, tuple(why for _ in gate.requests)) if gate else None
    return round_, tuple(HookReply(h.rollout_id, h.name, h.key, why) for h in hooks)
