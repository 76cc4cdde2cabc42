"""The unit of work: services' transactions join one update's transaction as savepoints."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from liaison.services.audit import record
from liaison.services.files.archive import Incoming, archive_changes
from liaison.storage.database import Database
from liaison.storage.models import AuditEvent, StoredFile

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


async def audit(db: Database, action: str) -> None:
    """A use case as services write them: its own db.transaction()."""
    async with db.transaction() as session:
        await record(session, action, at=NOW)


async def actions(db: Database) -> list[str]:
    async with db.read() as session:
        return list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


class Refused(Exception):
    pass


async def test_unit_commits_every_use_case_inside_it_together(db: Database) -> None:
    async with db.unit_of_work():
        await audit(db, "first")
        await audit(db, "second")
        async with db.read() as session:  # the unit's own, uncommitted writes are visible
            assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 2
    assert await actions(db) == ["first", "second"]


async def test_use_case_failing_inside_a_unit_undoes_only_its_own_work(db: Database) -> None:
    async with db.unit_of_work():
        await audit(db, "kept")
        with pytest.raises(Refused):
            async with db.transaction() as session:
                await record(session, "undone", at=NOW)
                raise Refused
        await audit(db, "also kept")
    assert await actions(db) == ["kept", "also kept"]


async def test_unit_rolled_back_leaves_nothing_of_its_use_cases(db: Database) -> None:
    with pytest.raises(Refused):
        async with db.unit_of_work():
            await audit(db, "first")
            await audit(db, "second")
            raise Refused
    assert await actions(db) == []


async def test_task_started_inside_a_unit_gets_sessions_of_its_own(db: Database) -> None:
    async with db.unit_of_work():
        await audit(db, "in the unit")
        # A task inherits the context; it must not share the unit's session (on SQLite
        # it waits for the unit's write lock, so it is awaited after the unit).
        child = asyncio.create_task(audit(db, "own transaction"))
        await asyncio.sleep(0.05)
    await child
    assert sorted(await actions(db)) == ["in the unit", "own transaction"]


async def test_archived_file_follows_the_units_rollback(db: Database, tmp_path: Path) -> None:
    incoming = Incoming(b"%PDF-1.4 report", "file-id", "unique-id", "report.pdf")
    with pytest.raises(Refused):
        async with db.unit_of_work():
            async with archive_changes(tmp_path) as files, db.transaction() as session:
                stored = await files.store(
                    session,
                    relative_dir=Path("p/person-1/stage-1/draft-1"),
                    stem="file",
                    extension="pdf",
                    incoming=incoming,
                    person_id=None,
                    now=NOW,
                )
                path = tmp_path / stored.archive_path
            assert path.exists()  # written at once...
            raise Refused
    assert not path.exists()  # ...and removed with the unit that would have recorded it
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(StoredFile)) == 0


async def test_sqlite_writer_waits_for_a_unit_instead_of_failing(sqlite_db: Database) -> None:
    """The sender and the planner write while an update is handled: they wait, not fail.

    The unit holds SQLite's write lock from its start (BEGIN IMMEDIATE) until it commits.
    """
    db = sqlite_db
    unit_started = asyncio.Event()
    release = asyncio.Event()

    async def slow_update() -> None:
        async with db.unit_of_work():
            await audit(db, "update")
            unit_started.set()
            await release.wait()  # e.g. a file download inside the handler

    handling = asyncio.create_task(slow_update())
    await unit_started.wait()
    started = time.perf_counter()
    writer = asyncio.create_task(audit(db, "sender"))
    await asyncio.sleep(0.2)
    assert not writer.done()  # waiting for the lock (busy timeout), not failed
    release.set()
    await handling
    await writer
    waited = time.perf_counter() - started
    assert waited >= 0.2
    assert await actions(db) == ["update", "sender"]
