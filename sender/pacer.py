"""Pacing sends under Telegram's limits: a global rate and one message per interval per chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


class Pacer:
    """Keeps sends under a global rate and one message per interval per chat."""

    def __init__(
        self,
        rate: float,
        per_chat_interval: float,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gap = 1.0 / rate
        self._per_chat = per_chat_interval
        self._sleep = sleep
        self._monotonic = monotonic
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        now = self._monotonic()
        ready = max(self._next_global, self._next_chat.get(chat_id, 0.0))
        if ready > now:
            await self._sleep(ready - now)
            now = ready
        self._next_global = now + self._gap
        self._next_chat[chat_id] = now + self._per_chat
        if len(self._next_chat) > 10_000:
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
