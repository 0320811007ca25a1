"""Exit codes of `kubectl ripcord`, and when a watched rollout is over.

A CI job runs ``kubectl ripcord get NAME --watch`` after applying a new version and needs
one number: did it ship? The decision reads the same conditions kstatus (Flux) and the
Argo CD health check read, in the same order, so the plugin, ``kubectl wait
--for=condition=Ready`` and GitOps tools never disagree about a Release:

1. ``metadata.deletionTimestamp`` set: over, as an error (the Release is going away).
2. ``status.observedGeneration`` behind ``metadata.generation``: not over. The operator has
   not seen the spec just applied; the conditions still describe the previous one.
3. ``Stalled=True``: over. ``InvalidSpec``/``PrometheusNotAllowed`` is a bad spec (2);
   any other reason (``RolledBack``, ``Aborted``) is a rollout that did not ship (3).
4. ``Ready=True``: over, shipped (0).
5. Anything else (canary running, paused, held without a verdict, post-promotion watch,
   rolling back): not over.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from ripcord.cli.render import Obj, condition, dig

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID_SPEC = 2
EXIT_ROLLED_BACK = 3
EXIT_TIMEOUT = 4
EXIT_IGNORED = 5
EXIT_USAGE = 64

INVALID_SPEC_REASONS = frozenset({"InvalidSpec", "PrometheusNotAllowed"})

EXIT_CODES_HELP = f"""\
exit codes:
  {EXIT_OK}   success; with --watch: the release is Ready (the rollout was promoted)
  {EXIT_ERROR}   error: cluster unreachable, Release not found or deleted, bad request
  {EXIT_INVALID_SPEC}   --watch: the spec is invalid (Stalled, reason InvalidSpec or PrometheusNotAllowed)
  {EXIT_ROLLED_BACK}   --watch: the rollout did not ship (Stalled: rolled back or aborted)
  {EXIT_TIMEOUT}   --timeout elapsed before the rollout ended, or --wait before the operator acknowledged
  {EXIT_IGNORED}   --wait: the operator acknowledged the request but did not act on it
  {EXIT_USAGE}  bad command-line usage
  130 interrupted (Ctrl-C)
"""


@dataclasses.dataclass(frozen=True)
class Ended:
    code: int
    message: str


def watch_result(release: Obj) -> Optional[Ended]:
    """The exit of ``get --watch`` if the release has reached an end state, else None."""
    meta = release.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return Ended(EXIT_ERROR, "the Release is being deleted")
    generation = meta.get("generation")
    observed = dig(release, "status", "observedGeneration")
    if generation is not None and observed != generation:
        return None
    stalled = condition(release, "Stalled")
    if stalled is not None and stalled.get("status") == "True":
        code = EXIT_INVALID_SPEC if stalled.get("reason") in INVALID_SPEC_REASONS else EXIT_ROLLED_BACK
        return Ended(code, f"{stalled.get('reason')}: {stalled.get('message', '')}")
    ready = condition(release, "Ready")
    if ready is not None and ready.get("status") == "True":
        return Ended(EXIT_OK, f"Ready: {ready.get('message', '')}")
    return None
