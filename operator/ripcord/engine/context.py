"""The scratch of one decision: the status being built, and what to tell the world.

Events and notifications are not returned beside the status: they are appended to the
status's outbox, so they are recorded in the same write as the transition that caused
them and delivered (at least once) until the edge reports them delivered.
"""
from __future__ import annotations

from typing import Optional

from ripcord.api.limits import HISTORY_MAX, OUTBOX_MAX, TIMELINE_MAX
from ripcord.api.models import HistoryEntry, OutboxItem, TimelineEntry
from ripcord.engine.observed import Observed
from ripcord.engine.plan import NotificationEvent
from ripcord.engine.timefmt import iso

HISTORY_LIMIT = HISTORY_MAX
TIMELINE_LIMIT = TIMELINE_MAX
OUTBOX_LIMIT = OUTBOX_MAX


class Decision:
    """Mutable scratch for one decision."""

    def __init__(self, obs: Observed) -> None:
        self.obs = obs
        self.now = obs.now
        self.st = obs.status.model_copy(deep=True)
        self.st.outbox = [item for item in self.st.outbox if item.key not in obs.delivered]

    # ------------------------------------------------------------------ outbox

    def _queue(self, item: OutboxItem) -> None:
        box = self.st.outbox
        box.append(item)
        while len(box) > OUTBOX_LIMIT:  # the oldest Event goes first; a notification only when no Event is left
            box.remove(next((i for i in box if i.kind == "Event"), box[0]))

    def _key(self) -> str:
        seq = self.st.next_outbox_seq
        self.st.next_outbox_seq += 1
        return str(seq)

    def event(self, reason: str, message: str, warning: bool = False) -> None:
        self._queue(OutboxItem(key=self._key(), kind="Event", reason=reason, message=message,
                               type="Warning" if warning else "Normal", at=iso(self.now)))

    def notify(self, event: NotificationEvent, rollout_id: int, message: str) -> None:
        self._queue(OutboxItem(key=self._key(), kind="Notification", reason=event, message=message,
                               rollout_id=rollout_id, at=iso(self.now)))

    # ------------------------------------------------------------------ history

    def timeline(self, event: str, message: str = "", weight: Optional[int] = None) -> None:
        entry = self.current_entry()
        if entry is not None:
            entry.timeline.append(TimelineEntry(at=iso(self.now), event=event, weight=weight, message=message))
            del entry.timeline[:-TIMELINE_LIMIT]

    def current_entry(self) -> Optional[HistoryEntry]:
        rid = self.st.rollout.id if self.st.rollout else None
        for entry in self.st.history:
            if entry.id == rid:
                return entry
        return None

    def record(self, entry: HistoryEntry) -> None:
        self.st.history.insert(0, entry)
        del self.st.history[HISTORY_LIMIT:]
