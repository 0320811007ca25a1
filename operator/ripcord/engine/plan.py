"""What the engine wants done: the status to record first, then the world to converge to."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal, Mapping, Optional

from ripcord.api.models import ReleaseStatus
from ripcord.contract import SlotIntent, TrafficIntent

NotificationEvent = Literal["pre-rollout", "rollback", "promotion", "stall", "post-rollout"]


@dataclasses.dataclass(frozen=True)
class Deletion:
    """The Release is being deleted: what to leave behind before the finalizer goes."""

    retain: bool  # deletionPolicy Retain: the stable keeps serving, owned objects are orphaned


@dataclasses.dataclass(frozen=True)
class Plan:
    status: ReleaseStatus
    slots: tuple[SlotIntent, ...] = ()
    traffic: Optional[TrafficIntent] = None
    act: bool = True  # False: record status only (invalid spec, a collision), touch nothing
    adopt_scale_down: Optional[str] = None  # the adopted Deployment to scale to zero, once the stable serves
    deletion: Optional[Deletion] = None
    next_due: Optional[dt.datetime] = None  # reconcile again at this time at the latest (None: on change only)
    roles: Mapping[str, str] = dataclasses.field(default_factory=dict)  # slot -> stable|canary|previous|idle
    hold_route: bool = False  # traffic.routeRef: someone else changed the rule's weights; leave the route alone
    route_version: Optional[str] = None  # traffic.routeRef: the route's resourceVersion this plan was decided on
