"""In-memory stand-ins for the plugin's I/O: a cluster that replays Release objects, a clock."""
from __future__ import annotations

import copy
import datetime as dt
import io
from typing import Any, Callable, Optional, Sequence

from ripcord.cli.kube import NotFound
from ripcord.cli.render import WorkloadPods


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.t = 0.0
        self.start = start

    def monotonic(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += max(s, 0.001)

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.t)


class FakeCustom:
    """The CustomObjectsApi calls the plugin makes, against one in-memory Release."""

    def __init__(self, cluster: "FakeCluster") -> None:
        self.cluster = cluster
        self.patches: list[tuple[str, str, dict[str, Any]]] = []

    def patch_namespaced_custom_object(self, group: str, version: str, ns: str, plural: str, name: str,
                                       body: dict[str, Any]) -> dict[str, Any]:
        self.patches.append((ns, name, body))
        if self.cluster.on_patch:
            self.cluster.on_patch(body)
        return {}


class FakeCluster:
    """``release()`` returns the next object of ``sequence`` each call (the last one repeats).

    An item may be an exception instance, raised instead (a flaky API server).
    """

    def __init__(self, sequence: Sequence[Any], workloads: Sequence[WorkloadPods] = (),
                 events: Sequence[dict[str, Any]] = (), on_patch: Optional[Callable[[dict[str, Any]], None]] = None):
        self.sequence = sequence if isinstance(sequence, list) else list(sequence)  # tests may append
        self.calls = 0
        self._workloads = list(workloads)
        self._events = list(events)
        self.on_patch = on_patch
        self.custom = FakeCustom(self)

    def release(self, namespace: str, name: str) -> dict[str, Any]:
        if not self.sequence:
            raise NotFound(f'release "{name}" not found in namespace "{namespace}"')
        item = self.sequence[min(self.calls, len(self.sequence) - 1)]
        self.calls += 1
        if isinstance(item, Exception):
            raise item
        return copy.deepcopy(item)

    def releases(self, namespace: Optional[str]) -> list[dict[str, Any]]:
        return [copy.deepcopy(r) for r in self.sequence if isinstance(r, dict)][-1:]

    def find(self, name: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(r) for r in self.sequence if isinstance(r, dict) and r["metadata"]["name"] == name]

    def workloads(self, release: dict[str, Any]) -> list[WorkloadPods]:
        return list(self._workloads)

    def events(self, release: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self._events)


def streams() -> tuple[io.StringIO, io.StringIO]:
    return io.StringIO(), io.StringIO()
