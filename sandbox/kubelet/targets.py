"""The Prometheus file_sd targets file, rewritten (atomically) as pods come and go."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path


class Targets:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, dict] = {}
        self._dirty = asyncio.Event()
        self._written: list | None = None

    def set(self, uid: str, entry: dict | None) -> None:
        if entry is None:
            if self._entries.pop(uid, None) is not None:
                self._dirty.set()
        elif self._entries.get(uid) != entry:
            self._entries[uid] = entry
            self._dirty.set()

    def write(self) -> None:
        content = sorted(self._entries.values(), key=lambda e: e["targets"][0])
        if content == self._written:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(content, indent=1, sort_keys=True))
        tmp.replace(self.path)
        self._written = content

    async def run(self) -> None:
        self.write()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            self.write()
            await asyncio.sleep(0.1)  # coalesce
