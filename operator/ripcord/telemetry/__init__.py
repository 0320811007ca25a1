"""Operator telemetry: Prometheus metrics derived from Release status changes.

``transitions`` is pure (two statuses in, what happened out); ``metrics`` turns that into
prometheus_client series and serves them; ``health`` serves the liveness path while the
replica is a standby (Kopf serves it once the replica leads).
"""
from ripcord.telemetry.metrics import OperatorMetrics, default_metrics, start_metrics_server
from ripcord.telemetry.transitions import (Happening, Promoted, RollbackDecided, RolloutEnded, Snapshot, Verdict,
                                           snapshot, transitions)

__all__ = ["OperatorMetrics", "default_metrics", "start_metrics_server", "Happening", "Promoted",
           "RollbackDecided", "RolloutEnded", "Snapshot", "Verdict", "snapshot", "transitions"]
