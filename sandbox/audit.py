"""What the operator identity really asked of the API server, from the sandbox's audit log.

The API server writes one JSON audit event per line for every request of the operator's
identity (``cluster.write_audit_policy``: Metadata level, so no object body is kept). This
module reads them back as :class:`Request` tuples: the RBAC test compares them with what the
shipped ClusterRole grants.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from sandbox.layout import OPERATOR_USER


@dataclass(frozen=True)
class Request:
    group: str  # "" for the core group
    resource: str  # with its subresource: "releases/status"
    verb: str  # the RBAC verb: get, list, watch, create, update, patch, delete, deletecollection
    namespace: Optional[str]  # None: cluster-scoped, or across all namespaces
    code: int  # the response's HTTP status (0 when the request had none yet)
    at: dt.datetime
    user_agent: str  # the operator's own client says ripcord/<version>, its Kopf kopf/<version>

    @property
    def rule(self) -> tuple[str, str, str]:
        return self.group, self.resource, self.verb


def _files(log: Path) -> list[Path]:
    """The log and its rotated backups (``audit-operator-<time>.log``), oldest first."""
    backups = sorted(log.parent.glob(f"{log.stem}-*{log.suffix}"))
    return [*backups, log] if log.exists() else backups


def operator_requests(log: Path, since: Optional[dt.datetime] = None) -> Iterator[Request]:
    """Every completed request of the operator identity (each request once: its ResponseComplete
    stage, or for a watch that is still open, its ResponseStarted stage)."""
    seen: set[str] = set()
    for path in _files(log):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line cut by rotation
                if (event.get("user") or {}).get("username") != OPERATOR_USER or event.get("auditID") in seen:
                    continue
                if event.get("stage") not in ("ResponseComplete", "ResponseStarted"):
                    continue
                ref = event.get("objectRef") or {}
                if not ref.get("resource"):
                    continue  # discovery and health paths (/apis, /version): no RBAC rule
                at = dt.datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00"))
                if since is not None and at < since:
                    continue
                seen.add(event["auditID"])
                resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
                yield Request(group=ref.get("apiGroup", ""), resource=resource, verb=event["verb"],
                              namespace=ref.get("namespace"), code=int((event.get("responseStatus") or {})
                                                                      .get("code", 0)), at=at,
                              user_agent=str(event.get("userAgent", "")))
