"""Pacing sends under Telegram's limits: a global rate and one message per interval per chat.

The Pacer gates START times. Several sends may be in flight at once (sender/outbox_sender.py
keeps about rate × latency of them); each one reserves the next free global slot and its
chat's next slot before it sleeps, so concurrent callers never share a slot. A chat's next
slot is counted again from the moment its send actually starts, so a caller that woke late
cannot bring two messages to one chat closer than the interval.
"""

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
        self.rate = rate
        self._gap = 1.0 / rate
        self._per_chat = per_chat_interval
        self._sleep = sleep
        self._monotonic = monotonic
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._held_until = 0.0

    async def wait(self, chat_id: int) -> None:
        """Returns when a message to ``chat_id`` may start."""
        while True:
            now = self._monotonic()
            slot = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
            # Reserved before sleeping: a concurrent caller takes the slot after this one.
            self._next_global = slot + self._gap
            self._next_chat[chat_id] = slot + self._per_chat
            if slot > now:
                await self._sleep(slot - now)
            if self._held_until <= slot:
                break
            # A flood pause began while this caller slept: its slot is void, wait again.
        started = max(self._monotonic(), slot)
        self._next_chat[chat_id] = max(self._next_chat[chat_id], started + self._per_chat)
        if len(self._next_chat) > 10_000:
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > started}

    def hold(self, chat_id: int | None, seconds: float) -> None:
        """Nothing more starts (to ``chat_id``, or at all for None) for ``seconds``."""
        until = self._monotonic() + seconds
        if chat_id is None:
            self._next_global = max(self._next_global, until)
            self._held_until = max(self._held_until, until)
        else:
            self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)
