"""One export at a time per process: a second request waits its turn, and is told so.

Building a workbook or packing hundreds of files takes memory, disk and a core; the
machine is small and the bot must keep answering. The desk serialises the builds of one
process (the bot's /export and exports sent by e-mail alike) and keeps the background
tasks it started, so shutdown, and the tests, can wait for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


class ExportDesk:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.waiting = 0

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Holds the desk for one build; waits while another build holds it."""
        self.waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._lock.release()

    def track(self, task: asyncio.Task[Any]) -> None:
        """Keeps a background build (the update handler returned at once) until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Waits for every background build started so far (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
