"""HTTP calls the engine plans and the edge makes: the pre-traffic gate's requests and gating webhooks.

Pure data. The engine says what is due (:class:`GateRead`, :class:`HookRead`, from the
recorded status, so a restarted operator plans the same calls); the observer makes them
with hard timeouts and hands back what came back (:class:`Reply`), and the engine judges
and records the answers. Nothing here knows a URL of the canary: the edge builds it from
the operator's configuration, so a Release can never point the operator anywhere else.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

from ripcord.api.models import GateRequest


@dataclasses.dataclass(frozen=True)
class Reply:
    """What one HTTP call brought back, or why nothing did (``status`` None: no answer)."""

    status: Optional[int] = None
    latency_ms: Optional[float] = None
    body_head: str = ""  # the first bytes of the body, as text
    error: Optional[str] = None  # why there is no answer: refused, timed out, not allowed...

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclasses.dataclass(frozen=True)
class GateRead:
    """One round of the pre-traffic gate: every request, to the canary's own Service."""

    rollout_id: int
    round: int  # 1-based
    service: str  # the canary slot's Service (named like its Deployment)
    port: int  # the Service port
    requests: tuple[GateRequest, ...]
    timeout_s: float


@dataclasses.dataclass(frozen=True)
class GateRound:
    """The replies of one round, in the order of the requests."""

    rollout_id: int
    round: int
    replies: tuple[Reply, ...]


@dataclasses.dataclass(frozen=True)
class HookRead:
    """One call of a gating webhook (a POST of ``payload`` to ``url``, allowed by the configuration)."""

    rollout_id: int
    name: str
    type: str
    key: str
    url: str
    timeout_s: float
    attempt: int  # 1-based
    payload: Mapping[str, Any]
    service: Optional[str] = None  # the canary's Service: the edge adds its address to the payload
    port: Optional[int] = None


@dataclasses.dataclass(frozen=True)
class HookReply:
    rollout_id: int
    name: str
    key: str
    reply: Reply
