"""When each Release is reconciled: on change, on its own clock, and on a slow resync.

Kopf's watch handlers ``wake`` a Release when it or something it owns or references
changes; a reconcile returns when it is due again (the engine's ``next_due``: an analysis,
a step's end, a deadline); with nothing due, the Release is reconciled again after
``resync_s``. A bounded pool of workers runs the reconciles (each in a thread: the
reconcile is synchronous I/O with its own timeouts), a Release is never reconciled twice
at once, and a wake during a reconcile runs it once more right after.

Kopf's timers and daemons were the alternative; this queue is kept because it bounds the
concurrency over all Releases, dedups wakes, and needs no Kopf finalizer (Kopf adds one to
every object that has a daemon or timer, and that write would happen on standby replicas
too, outside the leadership fence).

A reconcile that raises is reported on that Release alone (``on_error``) and retried with
exponential back-off; nothing another Release does is slowed by it beyond one worker slot.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import heapq
import itertools
import logging
import time
from typing import Any, Callable, Optional

log = logging.getLogger("ripcord.scheduler")

Key = tuple[str, str]
Run = Callable[[str, str], Optional[dt.datetime]]
OnError = Callable[[str, str, BaseException], None]


class Scheduler:
    def __init__(self, run: Run, *, workers: int = 32, resync_s: float = 300.0, on_error: Optional[OnError] = None,
                 metrics: Any = None, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
                 max_backoff_s: float = 60.0) -> None:
        self.run = run
        self.workers = workers
        self.resync_s = resync_s
        self.on_error = on_error
        self.metrics = metrics
        self.clock = clock
        self.wall = wall
        self.max_backoff_s = max_backoff_s
        self._heap: list[tuple[float, int, Key]] = []
        self._due: dict[Key, float] = {}
        self._running: set[Key] = set()
        self._again: set[Key] = set()  # woken while running: run once more right after
        self._failures: dict[Key, int] = {}
        self._gone: set[Key] = set()  # forgotten (deleted): not rescheduled after a run in flight
        self._seq = itertools.count()
        self._changed: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._pool: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._tasks: list[asyncio.Task[None]] = []

    # ---------------------------------------------------------------- what is due

    def _push(self, key: Key, due: float) -> None:
        current = self._due.get(key)
        if current is not None and current <= due:
            return  # already due sooner
        self._due[key] = due
        heapq.heappush(self._heap, (due, next(self._seq), key))
        if self._changed is not None:
            self._changed.set()

    def wake(self, namespace: str, name: str) -> None:
        """Reconcile this Release now (or right after the run in progress). Safe from any thread."""
        key = (namespace, name)
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                loop.call_soon_threadsafe(self._wake, key)
                return
        self._wake(key)

    def _wake(self, key: Key) -> None:
        self._gone.discard(key)
        if key in self._running:
            self._again.add(key)
            return
        self._push(key, self.clock())

    def forget(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        self._due.pop(key, None)
        self._again.discard(key)
        self._failures.pop(key, None)
        self._gone.add(key)

    def pending(self) -> int:
        return len(self._due) + len(self._running)

    # ---------------------------------------------------------------- running

    def start(self) -> None:
        """Start the workers on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers,
                                                           thread_name_prefix="ripcord-reconcile")
        self._tasks = [asyncio.create_task(self._worker(i)) for i in range(self.workers)]

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop taking work and wait (up to ``timeout``) for the reconciles in flight to end."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.get_running_loop().run_in_executor(None, lambda: pool.shutdown(wait=True))

    async def _next(self) -> tuple[Key, float]:
        assert self._changed is not None
        while True:
            while self._heap:
                due, _, key = self._heap[0]
                if self._due.get(key) != due:
                    heapq.heappop(self._heap)  # superseded by a sooner time, or forgotten
                    continue
                if key in self._running:
                    heapq.heappop(self._heap)  # a worker has it: run it once more when that ends
                    del self._due[key]
                    self._again.add(key)
                    continue
                now = self.clock()
                if due <= now:
                    heapq.heappop(self._heap)
                    del self._due[key]
                    return key, due
                break
            self._changed.clear()
            timeout = (self._heap[0][0] - self.clock()) if self._heap else None
            try:
                await asyncio.wait_for(self._changed.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    async def _worker(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            key, due = await self._next()
            self._running.add(key)
            started = self.clock()
            if self.metrics is not None:
                self.metrics.reconcile_lateness.observe(max(0.0, started - due))
            next_at: Optional[float] = None
            try:
                result = await loop.run_in_executor(self._pool, self.run, key[0], key[1])
                self._failures.pop(key, None)
                if result is not None:
                    next_at = started + max(0.0, (result - self.wall()).total_seconds())
            except asyncio.CancelledError:
                self._running.discard(key)
                raise
            except Exception as exc:  # noqa: BLE001 - one Release's failure stays with that Release
                n = self._failures.get(key, 0) + 1
                self._failures[key] = n
                next_at = self.clock() + min(self.max_backoff_s, 2.0 ** (n - 1))
                log.warning("reconcile of %s/%s failed (%s: %s); again in %.0fs", key[0], key[1],
                            type(exc).__name__, exc, next_at - self.clock())
                if self.on_error is not None:
                    try:
                        await loop.run_in_executor(self._pool, self.on_error, key[0], key[1], exc)
                    except Exception:  # noqa: BLE001
                        log.exception("reporting the reconcile error of %s/%s failed", *key)
            finally:
                self._running.discard(key)
            if key in self._gone:
                continue
            if key in self._again:
                self._again.discard(key)
                self._push(key, self.clock())
            else:
                resync = self.clock() + self.resync_s
                self._push(key, min(next_at, resync) if next_at is not None else resync)
