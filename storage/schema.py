"""The schema revision the code expects, and the database's, without Alembic.

`liaison run` and the health check only need to know whether the database is at the
head revision. Asking Alembic means walking the migrations folder and importing every
revision (about a third of a second at start); the head is a constant here instead, and
tests/test_startup.py fails when a migration is added without updating it.
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from liaison.storage.database import Database

# The newest migration in migrations/versions (alembic's head). Update it with each one.
HEAD_REVISION = "0009_menus"


async def current_revisions(connection: AsyncConnection) -> set[str]:
    """The revisions in the database's alembic_version (empty when never migrated)."""
    exists = await connection.run_sync(lambda c: inspect(c).has_table("alembic_version"))
    if not exists:
        return set()
    rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
    return {str(revision) for (revision,) in rows}


async def at_head(url: str) -> bool:
    """Whether the database at ``url`` is exactly at the code's head revision."""
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as connection:
            return await current_revisions(connection) == {HEAD_REVISION}
    finally:
        await db.dispose()
