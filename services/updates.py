"""Remembering handled update ids, so a redelivered update is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from liaison.storage.database import Database
from liaison.storage.models import ProcessedUpdate
from liaison.storage.queries import upsert_insert


async def claim_update(db: Database, update_id: int, now: datetime) -> bool:
    """Returns True the first time an update id is seen, False for every repeat."""
    values = {"update_id": update_id, "processed_at": now}
    statement = upsert_insert(db.dialect, ProcessedUpdate).values(**values).on_conflict_do_nothing()
    async with db.transaction() as session:
        result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def prune_updates(db: Database, now: datetime, keep: timedelta = timedelta(days=7)) -> int:
    """Forgets ids older than Telegram would ever redeliver (it keeps updates 24 hours)."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < now - keep)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
