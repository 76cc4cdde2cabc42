"""Which instance polls: the one holding a PostgreSQL advisory lock on a connection of its own.

Telegram answers 409 to a second getUpdates caller, so with several instances on one
PostgreSQL database only one may poll. Each instance tries ``pg_try_advisory_lock`` every
few seconds; the holder polls for as long as the lock's connection answers. A session-level
lock lives as long as its connection: when the holder dies (even by SIGKILL) PostgreSQL
drops the lock with the connection and a waiting instance takes over within one retry.
When the holder's connection stops answering, it stops polling at once and goes back to
waiting: the lock may already be someone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from liaison.bot.inbox import sleep_unless
from liaison.storage.locks import POLLER

log = logging.getLogger(__name__)

RETRY_SECONDS = 3.0  # how often a waiting instance tries the lock
CHECK_SECONDS = 2.0  # how often the holder makes sure its connection still answers
CHECK_TIMEOUT = 5.0


class Election:
    """The poller lock: ``acquire`` waits for it, ``watch`` returns when it is lost."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        key: int = POLLER,
        retry_seconds: float = RETRY_SECONDS,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self.engine, self.key = engine, key
        self.retry_seconds, self.check_seconds = retry_seconds, check_seconds
        self._connection: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    async def try_once(self) -> bool:
        """One try at the lock; True when this instance now holds it."""
        connection = await self.engine.connect()
        try:
            taken = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            # Nothing else runs on this connection: end the implicit transaction, keep it open.
            await connection.commit()
        except BaseException:
            await _close(connection)
            raise
        if not taken:
            await connection.close()  # back to the pool: it holds no lock
            return False
        self._connection = connection
        return True

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Waits until the lock is this instance's (True) or ``stop`` is set (False)."""
        waiting_said = False
        while not stop.is_set():
            try:
                if await self.try_once():
                    return True
                if not waiting_said:
                    log.info("another instance polls; waiting for the poller lock")
                    waiting_said = True
            except Exception as exc:
                log.warning("could not try the poller lock (%s); trying again", exc)
            await sleep_unless(stop, self.retry_seconds)
        return False

    async def watch(self, stop: asyncio.Event) -> None:
        """Returns when the lock's connection stops answering (the lock is lost) or on stop."""
        connection = self._connection
        assert connection is not None
        while not stop.is_set():
            await sleep_unless(stop, self.check_seconds)
            if stop.is_set():
                return
            try:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), CHECK_TIMEOUT)
                await connection.commit()
            except Exception as exc:
                log.warning("the poller lock's connection failed (%s); polling stops", exc)
                await self.release()
                return

    async def release(self) -> None:
        """Gives the lock back (closing its connection drops it in any case)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            await connection.commit()
        await _close(connection)


async def _close(connection: AsyncConnection) -> None:
    # Never back to the pool: its session may still hold the lock.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.invalidate(), CHECK_TIMEOUT)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.close(), CHECK_TIMEOUT)
