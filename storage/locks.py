"""PostgreSQL advisory locks: who polls, who plans. On SQLite (one instance) no-ops.

Keys are per database (PostgreSQL scopes advisory locks to the current database), so two
installations on one server never block each other. The migration lock of
migrations/env.py uses its own key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from liaison.storage.database import Database

# 'LIAI' in the high half; the low half names the lock.
POLLER = 0x4C49_4149_0000_0001
PLANNER = 0x4C49_4149_0000_0002


@asynccontextmanager
async def exclusive(db: Database, key: int) -> AsyncIterator[bool]:
    """Yields True when this process alone holds ``key`` for the block, False when another does.

    A transaction-level lock (pg_try_advisory_xact_lock) on a connection of its own, held
    until the block ends: a crash releases it with the connection, never leaving it taken.
    The block's work may use other connections. On SQLite one instance runs: always True.
    """
    if db.dialect != "postgresql":
        yield True
        return
    async with db.engine.connect() as connection, connection.begin():
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}
        )
        yield bool(taken)
