"""Handling stored updates: each in one unit of work with its "done" mark, once, in order.

Polling and the webhook only store updates (``accept``); this processor hands each
pending row to ``Application.process_update`` inside ``db.unit_of_work()``, so the
handler's writes and the inbox row's "done" commit together or not at all. A failed try
leaves the row pending (transient errors: database or network down) or, after
ERROR_ATTEMPTS tries of another error, fails it; the user hears the error handler's
apology only then, once. One worker handles rows oldest first, so one person's updates
are never handled out of order or two at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exc as sa_exc
from telegram import Update
from telegram.error import NetworkError, RetryAfter
from telegram.ext import Application, ApplicationHandlerStop

from liaison.services import inbox, log_context, metrics
from liaison.services.clock import Clock
from liaison.storage.database import Database
from liaison.storage.enums import InboxState
from liaison.ui.context import BotContext

log = logging.getLogger(__name__)

# How long the worker sleeps when nothing wakes it: the retry job's period.
RETRY_INTERVAL = timedelta(seconds=5)
# Back-off of the worker itself while the database cannot be reached.
OUTAGE_BACKOFF = (0.5, 1.0, 2.0, 5.0)


def is_transient(error: BaseException) -> bool:
    """Errors that say nothing about the update: the database or Telegram was unreachable."""
    if isinstance(error, sa_exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, sa_exc.OperationalError | sa_exc.InterfaceError
        )
    return isinstance(
        error,
        sa_exc.DisconnectionError
        | sa_exc.TimeoutError
        | OSError
        | TimeoutError
        | NetworkError
        | RetryAfter,
    )


@dataclass
class Handling:
    """The try in progress: what the error hook learnt about it."""

    update_id: int
    attempts: int
    error: BaseException | None = None

    @property
    def final(self) -> bool:
        """Whether this error settles the row as failed (the one time the user is told)."""
        return (
            self.error is not None
            and not is_transient(self.error)
            and self.attempts >= inbox.ERROR_ATTEMPTS
        )


_handling: ContextVar[Handling | None] = ContextVar("liaison_handling", default=None)


def current_handling() -> Handling | None:
    return _handling.get()


async def note_error(update: object, context: BotContext) -> None:
    """First error handler: remembers the error; stops the apology unless this try is final."""
    handling = current_handling()
    error = context.error
    if handling is None or error is None:
        return
    handling.error = error
    if handling.final:
        return
    kind = "transient" if is_transient(error) else "error"
    log.warning(
        "update %s, try %s: %s %s: %s; it will be handled again",
        handling.update_id,
        handling.attempts,
        kind,
        type(error).__name__,
        error,
    )
    raise ApplicationHandlerStop


class _Skip(Exception):
    """The row is not ours to handle now (another instance holds it, or an older one waits)."""


class _Failed(Exception):
    """The handler failed: the unit of work rolls back."""


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


class InboxProcessor:
    """Stores incoming updates and handles stored ones; one worker, one update at a time."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        db: Database,
        clock: Clock,
        *,
        retry_delay: Callable[[int], timedelta] = inbox.retry_delay,
    ) -> None:
        self.app, self.db, self.clock = app, db, clock
        self.retry_delay = retry_delay
        self._wake = asyncio.Event()
        self._drain_lock = asyncio.Lock()

    async def accept(self, payloads: Sequence[Mapping[str, Any]]) -> int:
        """Stores updates (committed when this returns) and wakes the worker."""
        new = await inbox.store(self.db, payloads, self.clock.now())
        self.kick()
        return new

    def kick(self) -> None:
        self._wake.set()

    async def drain(self) -> int:
        """Handles every runnable row until none is left; returns how many were settled."""
        settled = 0
        async with self._drain_lock:
            while True:
                ids = await inbox.runnable(self.db, self.clock.now())
                if not ids:
                    return settled
                progress = False
                for update_id in ids:
                    state = await self.handle(update_id)
                    if state is not None:
                        progress = True
                        settled += state is not InboxState.PENDING
                if not progress:
                    return settled

    @metrics.counts_updates
    @log_context.for_update
    async def handle(self, update_id: int) -> InboxState | None:
        """One try at one row; returns its state after the try, None if it was not tried."""
        attempt = await inbox.begin_attempt(self.db, update_id, self.clock.now())
        if attempt is None:
            return None
        handling = Handling(update_id, attempt.attempts)
        token = _handling.set(handling)
        try:
            async with self.db.unit_of_work() as unit:
                if not await inbox.hold(unit.session, update_id):
                    raise _Skip
                if await inbox.older_unsettled(
                    unit.session, update_id, inbox.sender_of(attempt.payload)
                ):
                    raise _Skip
                update = Update.de_json(attempt.payload, self.app.bot)
                await self.app.process_update(update)
                if handling.error is not None:
                    raise _Failed
                await inbox.mark_done(unit.session, update_id, self.clock.now())
            return InboxState.DONE
        except _Skip:
            return None
        except _Failed:
            pass
        except Exception as exc:  # the unit itself failed: begin, hold, parse or commit
            handling.error = exc
            if not handling.final:
                log.warning("update %s, try %s: %s", update_id, attempt.attempts, _describe(exc))
        finally:
            _handling.reset(token)
        return await self._after_failure(handling)

    async def _after_failure(self, handling: Handling) -> InboxState:
        assert handling.error is not None
        error = handling.error
        give_up = handling.final
        now = self.clock.now()
        state = await inbox.record_failure(
            self.db,
            handling.update_id,
            now,
            _describe(error),
            give_up=give_up,
            retry_at=now + self.retry_delay(handling.attempts),
        )
        if state is InboxState.FAILED:
            log.error(
                "update %s failed after %s tries: %s",
                handling.update_id,
                handling.attempts,
                _describe(error),
            )
        return state

    async def run(self, stop: asyncio.Event) -> None:
        """The worker: drains, then sleeps until woken or RETRY_INTERVAL passed."""
        outage = 0
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.drain()
                if outage:
                    log.info("the database answers again; handling resumed")
                outage = 0
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("the inbox worker failed; trying again")
                elif outage == 0:
                    log.warning("database unreachable (%s); updates wait in order", exc)
                delay = OUTAGE_BACKOFF[min(outage, len(OUTAGE_BACKOFF) - 1)]
                outage += 1
                await sleep_unless(stop, delay)
                continue
            await _wait_for(self._wake, stop, RETRY_INTERVAL.total_seconds())


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleeps, but wakes as soon as ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _wait_for(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
