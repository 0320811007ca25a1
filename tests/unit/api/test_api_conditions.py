"""Conditions in the metav1.Condition shape: set in place, transition time moves only on a status change."""
from __future__ import annotations

import datetime as dt

from ripcord.api.conditions import get_condition, set_condition
from ripcord.api.models import Condition

T0 = dt.datetime(2026, 1, 29, 14, 30, tzinfo=dt.timezone.utc)
T1 = T0 + dt.timedelta(minutes=5)


def test_a_new_condition_is_added_with_the_time_and_generation() -> None:
    conds: list[Condition] = []
    set_condition(conds, "Ready", "Unknown", "Progressing", "step 1/4", T0, 3)
    [c] = conds
    assert (c.type, c.status, c.reason, c.message) == ("Ready", "Unknown", "Progressing", "step 1/4")
    assert c.last_transition_time == "2026-01-29T14:30:00Z" and c.observed_generation == 3


def test_same_status_keeps_the_transition_time_but_updates_the_rest() -> None:
    conds: list[Condition] = []
    set_condition(conds, "Ready", "Unknown", "Progressing", "step 1/4", T0, 3)
    set_condition(conds, "Ready", "Unknown", "Paused", "step 2/4", T1, 4)
    [c] = conds
    assert c.last_transition_time == "2026-01-29T14:30:00Z"
    assert (c.reason, c.message, c.observed_generation) == ("Paused", "step 2/4", 4)


def test_a_status_change_moves_the_transition_time() -> None:
    conds: list[Condition] = []
    set_condition(conds, "Ready", "Unknown", "Progressing", "", T0, 3)
    set_condition(conds, "Ready", "True", "Stable", "", T1, 3)
    assert conds[0].last_transition_time == "2026-01-29T14:35:00Z" and conds[0].status == "True"


def test_one_condition_per_type_in_first_set_order() -> None:
    conds: list[Condition] = []
    for t in ("Ready", "Reconciling", "Stalled", "Ready", "Stalled"):
        set_condition(conds, t, "False", "X", "", T0, 1)
    assert [c.type for c in conds] == ["Ready", "Reconciling", "Stalled"]


def test_times_are_utc_whatever_the_zone() -> None:
    conds: list[Condition] = []
    set_condition(conds, "Ready", "True", "Stable", "", T0.astimezone(dt.timezone(dt.timedelta(hours=2))), 1)
    assert conds[0].last_transition_time == "2026-01-29T14:30:00Z"


def test_get_condition() -> None:
    conds: list[Condition] = []
    assert get_condition(conds, "Ready") is None
    set_condition(conds, "Ready", "True", "Stable", "", T0, 1)
    c = get_condition(conds, "Ready")
    assert c is not None and c.status == "True"
