"""What the engine wants done: the status to record first, then the world to converge to."""
from __future__ import annotations

import dataclasses
from typing import Any, Literal, Mapping, Optional

from ripcord.api.models import ReleaseStatus


@dataclasses.dataclass(frozen=True)
class SlotIntent:
    """A slot's Deployment as it should be. ``template`` None means: leave the template as is."""

    slot: str
    replicas: int
    template: Optional[Mapping[str, Any]] = None
    template_hash: Optional[str] = None
    version: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class TrafficIntent:
    stable_slot: str
    canary_slot: Optional[str]
    weight: int  # canary share asked, percent; 0 when there is no canary


@dataclasses.dataclass(frozen=True)
class EventIntent:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class Notification:
    event: Literal["pre-rollout", "rollback", "promotion", "stall", "post-rollout"]
    rollout_id: int
    message: str


@dataclasses.dataclass(frozen=True)
class Plan:
    status: ReleaseStatus
    slots: tuple[SlotIntent, ...] = ()
    traffic: Optional[TrafficIntent] = None
    events: tuple[EventIntent, ...] = ()
    notifications: tuple[Notification, ...] = ()
    act: bool = True  # False: record status only (invalid spec), touch nothing
    adopt_scale_down: Optional[str] = None  # the adopted Deployment to scale to zero, once the stable serves
