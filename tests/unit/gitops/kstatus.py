"""kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status) for a custom resource, in Python.

Flux's ``wait: true`` and ``healthChecks`` compute a resource's status with kstatus and
nothing else, so a Release is only as GitOps-friendly as kstatus says. This is a direct
transcription of ``status.Compute`` for a kind that has no built-in rules (a CRD), in the
order ``../shared/reference/ecosystem.md`` §1 gives:

1. ``metadata.deletionTimestamp`` set                                   -> Terminating
2. ``status.observedGeneration`` present and != ``metadata.generation`` -> InProgress
   (reason ``LatestGenerationNotObserved``; an absent observedGeneration skips the check)
3. the first condition, in list order, that is ``Reconciling=True``     -> InProgress,
   or ``Stalled=True``                                                  -> Failed
4. (type-specific rules: built-in kinds only, none for a CRD)
5. ``Ready=True``                                                       -> Current;
   ``Ready=False`` or ``Ready=Unknown``                                 -> InProgress
6. otherwise                                                            -> Current

Step 5 is as ecosystem.md states it. The ``generic.go``/``status.go`` snapshots of cli-utils
read for this module stop after step 3 and fall through to Current; ``ready_rule=False``
reproduces that, and the tests check that a Release gets the same answer either way (the
operator always sets ``Reconciling=True`` while ``Ready`` is not ``True``), so the Release
does not depend on which kstatus a Flux version ships.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Optional

IN_PROGRESS = "InProgress"
FAILED = "Failed"
CURRENT = "Current"
TERMINATING = "Terminating"


@dataclasses.dataclass(frozen=True)
class Result:
    status: str
    message: str
    reason: Optional[str] = None  # the condition reason that decided, when one did


def _int(value: Any) -> Optional[int]:
    """unstructured.NestedInt64: only an integer counts as found (JSON numbers decode as int)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def compute(obj: Mapping[str, Any], *, ready_rule: bool = True) -> Result:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    kind = obj.get("kind", "Resource")

    if meta.get("deletionTimestamp"):
        return Result(TERMINATING, "Resource scheduled for deletion")

    generation = _int(meta.get("generation"))
    observed = _int(status.get("observedGeneration")) if isinstance(status, Mapping) else None
    if generation is not None and observed is not None and observed != generation:
        return Result(IN_PROGRESS, f"{kind} generation is {generation}, but latest observed generation is {observed}",
                      "LatestGenerationNotObserved")

    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    for cond in conditions or []:
        if cond.get("type") == "Reconciling" and cond.get("status") == "True":
            return Result(IN_PROGRESS, cond.get("message", ""), cond.get("reason"))
        if cond.get("type") == "Stalled" and cond.get("status") == "True":
            return Result(FAILED, cond.get("message", ""), cond.get("reason"))

    if ready_rule:
        for cond in conditions or []:
            if cond.get("type") == "Ready":
                if cond.get("status") == "True":
                    return Result(CURRENT, cond.get("message", ""), cond.get("reason"))
                return Result(IN_PROGRESS, cond.get("message", ""), cond.get("reason"))

    return Result(CURRENT, "Resource is current")
