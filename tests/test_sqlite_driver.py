"""The one-trip SQLite cursor (storage/database.py) answers as SQLAlchemy's adapter does."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from liaison.storage import database as storage_database
from liaison.storage.database import Database


def test_the_installed_drivers_take_the_one_trip_path() -> None:
    # If a SQLAlchemy or aiosqlite release renames what the cursor uses, SQLite still works
    # through the adapter's own cursor, but this says the speed-up is gone.
    assert storage_database._ONE_TRIP


async def test_rows_rowcount_lastrowid_and_errors_come_back_as_before(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
        inserted = await session.execute(text("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"))
        assert inserted.rowcount == 3  # type: ignore[attr-defined]
        changed = await session.execute(text("UPDATE t SET v = v || '!' WHERE v != 'a'"))
        assert changed.rowcount == 2  # type: ignore[attr-defined]
        rows = (await session.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, "a"), (2, "b!"), (3, "c!")]
        returned = await session.execute(text("INSERT INTO t (v) VALUES ('d') RETURNING id"))
        assert returned.scalar_one() == 4
        assert (await session.execute(text("SELECT v FROM t WHERE id = 99"))).first() is None
    with pytest.raises(IntegrityError):
        async with sqlite_db.transaction() as session:
            await session.execute(text("INSERT INTO t (v) VALUES ('a')"))
    async with sqlite_db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 4
