"""A status as this version writes it, mid-rollout, for the status tolerance tests."""
from __future__ import annotations

import copy
import datetime as dt
from typing import Any

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)

_STATUS: dict[str, Any] = {
    "observedGeneration": 3,
    "phase": "Progressing",
    "message": "rollout 2: step 1/2, canary 2.0.0 at 20%",
    "conditions": [
        {"type": "Ready", "status": "False", "reason": "Progressing", "message": "step 1/2",
         "lastTransitionTime": "2026-06-01T11:59:00Z", "observedGeneration": 3},
        {"type": "Stalled", "status": "False", "reason": "SpecValid",
         "lastTransitionTime": "2026-06-01T11:00:00Z", "observedGeneration": 3},
    ],
    "stable": {"slot": "a", "deployment": "web-a", "version": "1.0.0", "templateHash": "aaaaaaaaaaaa"},
    "canary": {"slot": "b", "deployment": "web-b", "version": "2.0.0", "templateHash": "bbbbbbbbbbbb"},
    "rollout": {"id": 2, "state": "Progressing", "step": 0, "weight": 20, "stepStartedAt": "2026-06-01T11:59:00Z",
                "startedAt": "2026-06-01T11:59:00Z", "paused": False, "held": False, "promoteRequested": False,
                "drill": False, "restartsAtStep": {}, "mirrorDone": False, "pausesDone": [],
                "awaitingApproval": False},
    "weight": 20,
    "lastOutcome": "Promoted",
    "analysis": {"at": "2026-06-01T11:59:30Z", "verdict": "Inconclusive", "step": 0,
                 "metrics": [{"name": "error-rate", "verdict": "Inconclusive", "bound": "ratio <= 1.1"}],
                 "lastSampleAt": "2026-06-01T11:59:30.000Z", "failedChecks": 0,
                 "judgeState": "z1:eNqrVipTsjKsBQAIkwIe"},
    "acknowledged": {"promote": "1/abc"},
    "history": [
        {"id": 2, "version": "2.0.0", "templateHash": "bbbbbbbbbbbb", "outcome": "Progressing",
         "startedAt": "2026-06-01T11:59:00Z", "stepReached": 0, "weightReached": 20,
         "timeline": [{"at": "2026-06-01T11:59:00Z", "event": "Started"}], "drill": False},
        {"id": 1, "version": "1.0.0", "templateHash": "aaaaaaaaaaaa", "outcome": "Promoted",
         "startedAt": "2026-06-01T11:00:00Z", "endedAt": "2026-06-01T11:00:00Z", "stepReached": 0,
         "weightReached": 0, "timeline": [], "drill": False},
    ],
    "nextRolloutId": 3,
    "outbox": [],
    "nextOutboxSeq": 1,
    "webhooks": [],
}


def status(**changes: Any) -> dict[str, Any]:
    """A fresh copy of the sample status, top-level keys replaced by ``changes``."""
    out = copy.deepcopy(_STATUS)
    out.update(changes)
    return out
