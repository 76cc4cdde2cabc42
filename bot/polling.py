"""Long polling that confirms a batch to Telegram only after it is stored.

PTB's Updater confirms the getUpdates offset as soon as a batch is queued in memory, so
a crash loses it. Here ``getUpdates(offset)`` is asked for the next batch only after the
previous one is committed to the inbox: asking with the higher offset is what confirms
it. While the database is down the offset stays where it was and the same batch comes
again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from telegram import Bot
from telegram.error import Conflict, NetworkError, RetryAfter

from liaison.bot.inbox import InboxProcessor, sleep_unless

log = logging.getLogger(__name__)

POLL_TIMEOUT = 20  # seconds Telegram holds a getUpdates call open when nothing is new
BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0)


async def poll(
    bot: Bot,
    inbox: InboxProcessor,
    stop: asyncio.Event,
    *,
    allowed_updates: Sequence[str],
    poll_seconds: int = POLL_TIMEOUT,
) -> None:
    """Fetches, stores, then confirms, until ``stop`` is set."""
    await _until_done(stop, lambda: bot.delete_webhook(drop_pending_updates=False))
    offset: int | None = None
    failures = 0
    while not stop.is_set():
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=poll_seconds, allowed_updates=list(allowed_updates)
            )
        except RetryAfter as exc:
            await _pause(stop, exc.retry_after)
            continue
        except (NetworkError, Conflict) as exc:
            failures += 1
            log.warning("getUpdates failed (%s); trying again", exc)
            await _pause(stop, BACKOFF[min(failures, len(BACKOFF)) - 1])
            continue
        if not updates:
            failures = 0
            await asyncio.sleep(0)  # a transport that answers at once must not starve the loop
            continue
        try:
            await inbox.accept([update.to_dict() for update in updates])
        except Exception as exc:
            failures += 1
            log.warning(
                "could not store %s update(s) (%s); not confirmed, Telegram keeps them",
                len(updates),
                exc,
            )
            await _pause(stop, BACKOFF[min(failures, len(BACKOFF)) - 1])
            continue
        failures = 0
        offset = max(update.update_id for update in updates) + 1


async def _pause(stop: asyncio.Event, seconds: float | timedelta) -> None:
    delay = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
    await sleep_unless(stop, delay)


async def _until_done(stop: asyncio.Event, call: Callable[[], Awaitable[object]]) -> None:
    """Repeats a start-up call until Telegram answers (it may be briefly unreachable)."""
    failures = 0
    while not stop.is_set():
        try:
            await call()
            return
        except NetworkError as exc:
            failures += 1
            log.warning("Telegram unreachable at start-up (%s); trying again", exc)
            await _pause(stop, BACKOFF[min(failures, len(BACKOFF)) - 1])
