"""Handling stored updates: each in one unit of work with its "done" mark, once, in order.

Polling and the webhook only store updates (``accept``); this processor hands each
pending row to ``Application.process_update`` inside ``db.unit_of_work()``, so the
handler's writes and the inbox row's "done" commit together or not at all. A failed try
leaves the row pending (transient errors: database or network down) or, after
ERROR_ATTEMPTS tries of another error, fails it; the user hears the error handler's
apology only then, once. Rows are handled oldest first, different people's side by side
(a bounded number of workers, LIAISON_UPDATES__CONCURRENCY), one person's never out of
order or two at a time: a row behind an unsettled older one of its sender is not taken,
here nor by another instance (docs/reliability.md).
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


def default_concurrency(dialect: str) -> int:
    """Workers when the setting is unset: one on SQLite, eight on PostgreSQL.

    SQLite has one writer, and every update's unit of work holds it from its first
    statement to its commit (the reply is sent inside): a second worker would only wait
    for the lock, polling in SQLite's busy handler, which makes the wait longer, not the
    work shorter. PostgreSQL locks rows: people's units run side by side, each on its own
    connection (eight stay well inside the pool's fifteen with the sender and jobs).
    """
    return 8 if dialect == "postgresql" else 1


class InboxProcessor:
    """Stores incoming updates and handles stored ones: different people's side by side
    (at most ``concurrency`` at once), one person's one at a time, in update_id order."""

    def __init__(
        self,
        app: Application[Any, Any, Any, Any, Any, Any],
        db: Database,
        clock: Clock,
        *,
        retry_delay: Callable[[int], timedelta] = inbox.retry_delay,
        concurrency: int | None = None,
        batch: int = 100,
    ) -> None:
        self.app, self.db, self.clock = app, db, clock
        self.retry_delay = retry_delay
        self.concurrency = max(1, concurrency or default_concurrency(db.dialect))
        self.batch = batch
        self._wake = asyncio.Event()
        # The running worker's stop event: once set, no new update is begun.
        self._stop: asyncio.Event | None = None
        self._drain_lock = asyncio.Lock()

    async def accept(self, payloads: Sequence[Mapping[str, Any]]) -> int:
        """Stores updates (committed when this returns) and wakes the worker."""
        new = await inbox.store(self.db, payloads, self.clock.now())
        self.kick()
        return new

    def kick(self) -> None:
        self._wake.set()

    async def drain(self) -> int:
        """Handles every runnable row until none is left; returns how many were settled.

        Each round takes the oldest runnable rows, at most one per person (an update
        behind an unsettled older one of its sender is not runnable), counts the first
        try of the fresh ones in one commit, and handles the round's rows side by side.
        A person's next update becomes runnable only once the previous one is settled.
        """
        settled = 0
        async with self._drain_lock:
            while not self._stopping():
                now = self.clock.now()
                due = await inbox.runnable(self.db, now, self.batch)
                if not due:
                    return settled
                fresh = await inbox.claim_fresh(
                    self.db, [row.update_id for row in due if row.attempts == 0], now
                )
                work: list[inbox.Attempt | int] = [*fresh]
                work += [row.update_id for row in due if row.attempts > 0]
                states = await self._handle_all(work)
                settled += sum(state not in (None, InboxState.PENDING) for state in states)
                if all(state is None for state in states):
                    return settled
            return settled

    async def _handle_all(self, work: Sequence[inbox.Attempt | int]) -> list[InboxState | None]:
        if self.concurrency == 1 or len(work) <= 1:
            return [await self._handle_one(item) for item in work]
        slots = asyncio.Semaphore(self.concurrency)

        async def one(item: inbox.Attempt | int) -> InboxState | None:
            async with slots:
                return await self._handle_one(item)

        # Every try runs to its end before an error (the database gone) is raised here.
        results = await asyncio.gather(*(one(item) for item in work), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [result for result in results if not isinstance(result, BaseException)]

    async def _handle_one(self, item: inbox.Attempt | int) -> InboxState | None:
        if self._stopping():
            # Shutting down: the update in hand finishes, the rest wait for the next start
            # (a fresh row's counted attempt is one of ATTEMPT_LIMIT, never a lost update).
            return None
        if isinstance(item, int):
            return await self.handle(item)
        return await self.handle_attempt(item)

    async def handle(self, update_id: int) -> InboxState | None:
        """One try at a row tried before; returns its state after, None if not tried."""
        attempt = await inbox.begin_attempt(self.db, update_id, self.clock.now())
        if attempt is None:
            return None
        return await self.handle_attempt(attempt)

    async def handle_attempt(self, attempt: inbox.Attempt) -> InboxState | None:
        """One counted try; its log lines carry the update id, its outcome is counted."""
        with log_context.about(update_id=attempt.update_id):
            state = await self._try(attempt)
        metrics.update_settled(state)
        return state

    async def _try(self, attempt: inbox.Attempt) -> InboxState | None:
        """One counted try, in one unit of work: take the row, run the handlers, commit."""
        update_id = attempt.update_id
        handling = Handling(update_id, attempt.attempts)
        token = _handling.set(handling)
        try:
            async with self.db.unit_of_work() as unit:
                if not await inbox.take(unit.session, attempt, self.clock.now()):
                    raise _Skip
                update = Update.de_json(attempt.payload, self.app.bot)
                await self.app.process_update(update)
                if handling.error is not None:
                    raise _Failed
            return InboxState.DONE
        except _Skip:
            return None
        except _Failed:
            pass
        except Exception as exc:  # the unit itself failed: begin, take, parse or commit
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
        self._stop = stop
        try:
            await self._work(stop)
        finally:
            self._stop = None

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _work(self, stop: asyncio.Event) -> None:
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
