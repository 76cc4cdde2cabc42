"""Batched bookkeeping: deliveries are recorded many at a time, not one transaction each.

A delivery (the row sent, Telegram's message id, a prompt's run now `sent`) waits here a
few tens of milliseconds and is written with the others in one transaction: one
executemany UPDATE for the rows, then each prompt's run. The buffer is flushed every
``interval`` seconds, when it holds ``size`` rows, before a person is marked unreachable,
and at the end of every pass: always long before a lease (15 s) could run out.

A crash between Telegram's answer and the flush leaves the row `sending`; its lease runs
out and it is sent again: the documented "sent again" case of docs/outbox.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from liaison.services.checkins.states import move_run
from liaison.services.outbox.payloads import RunPayload, as_payload
from liaison.services.outbox.queue import Delivered, record_sent
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, RunState

log = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.075
FLUSH_SIZE = 100


async def record_deliveries(db: Database, delivered: Sequence[Delivered]) -> None:
    """One transaction: the rows sent (fenced by their claim tokens), prompts' runs sent."""
    runs = [
        as_payload(item.row.payload, RunPayload).run_id
        for item in delivered
        if item.row.kind is OutboxKind.CHECKIN_PROMPT
    ]
    async with db.transaction() as session:
        await record_sent(session, delivered)
        for run_id in runs:
            # Only a due run becomes sent (services/checkins/conversation.py: prompt_sent).
            await move_run(session, run_id, RunState.SENT, only_from=(RunState.DUE,))


def database_unreachable(error: BaseException) -> bool:
    """Whether an error means the database cannot be reached (so nothing can be recorded)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError)


# How one delivery ended: recorded (None), or the error that kept it from being recorded.
Settle = Callable[[Delivered, Exception | None], Awaitable[None]]
Write = Callable[[Database, Sequence[Delivered]], Awaitable[None]]


class Recorder:
    """Holds deliveries until the next flush; tells ``settle`` how each one ended."""

    def __init__(
        self,
        write: Write,
        db: Database,
        *,
        interval: float = FLUSH_INTERVAL,
        size: int = FLUSH_SIZE,
    ) -> None:
        self._write = write
        self.db = db
        self.interval, self.size = interval, size
        self._buffer: list[tuple[Delivered, Settle]] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        # An unreachable database met by a timed flush: raised by the next add or flush.
        self.error: BaseException | None = None

    @property
    def waiting(self) -> int:
        return len(self._buffer)

    async def add(self, delivered: Delivered, settle: Settle) -> None:
        if self.error is not None:
            raise self.error
        self._buffer.append((delivered, settle))
        if len(self._buffer) >= self.size:
            await self.flush()
        elif self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(self.interval)
        try:
            await self.flush()
        except Exception as exc:
            self.error = exc

    async def flush(self) -> None:
        """Writes what is waiting. An unreachable database raises (nothing is recorded:
        the rows come back when their leases run out); any other error is retried row by
        row, so one row that cannot be recorded fails alone."""
        if self.error is not None:
            raise self.error
        async with self._lock:
            items, self._buffer = self._buffer, []
            if not items:
                return
            try:
                await self._write(self.db, [d for d, _ in items])
            except Exception as exc:
                if database_unreachable(exc):
                    raise
                log.warning("recording %s deliveries failed, one by one now: %s", len(items), exc)
                for delivered, settle in items:
                    try:
                        await self._write(self.db, [delivered])
                    except Exception as one:
                        if database_unreachable(one):
                            raise
                        await settle(delivered, one)
                    else:
                        await settle(delivered, None)
                return
            for delivered, settle in items:
                await settle(delivered, None)

    async def close(self) -> None:
        """Stops the timer without writing (a crash path); ``flush`` first to keep them."""
        if self._timer is not None:
            self._timer.cancel()
            with suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None

    def drop(self) -> None:
        """Forgets what waits (and the error that kept it from being written): those rows
        stay `sending` and are sent again when their leases run out."""
        self._buffer.clear()
        self.error = None
