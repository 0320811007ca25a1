"""What a Release may use, under the operator's configuration: the spec check before any work.

One pure function, :func:`release_problem`, behind the ``PrometheusNotAllowed`` /
``InvalidSpec`` condition: the Prometheus it names must exist and allow the Release's
namespace, its analysis must be usable (custom queries pinned to the namespace unless the
configuration says otherwise), and every webhook URL must be allowed after normalisation.
The message names the field (``spec.analysis.prometheus``,
``spec.analysis.metrics[NAME].query``, ``spec.notifications[NAME].url``) and never shows a
credential.
"""
from __future__ import annotations

from typing import Optional, Protocol

from .api.models import AnalysisSpec, ReleaseSpec
from .config import NotAllowed, OperatorConfig

MESSAGE_LIMIT = 2000


class AnalysisValidator(Protocol):
    def validate(self, spec: AnalysisSpec, namespace: Optional[str] = None) -> list[str]:
        """Problems of an analysis spec for a Release in ``namespace``; [] if fine."""


def release_problem(config: OperatorConfig, analyzer: Optional[AnalysisValidator], spec: ReleaseSpec,
                    namespace: str) -> Optional[str]:
    """Why a Release in ``namespace`` may not run as specified (bounded), or None."""
    try:
        config.find_prometheus(spec.analysis.prometheus, namespace)
    except NotAllowed as exc:
        return str(exc)[:MESSAGE_LIMIT]
    if analyzer is not None and (problems := analyzer.validate(spec.analysis, namespace)):
        return "; ".join(problems)[:MESSAGE_LIMIT]
    for hook in spec.notifications:
        try:
            config.check_webhook_url(hook.url)
        except NotAllowed as exc:
            return f"spec.notifications[{hook.name}].url: {exc}"[:MESSAGE_LIMIT]
    return None
