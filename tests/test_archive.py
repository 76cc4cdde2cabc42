"""Files follow their rows: kept when the transaction commits, gone when it does not."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.files.archive import (
    ArchiveChanges,
    Incoming,
    archive_changes,
    sweep_orphans,
)
from liaison.storage.database import Database
from liaison.storage.models import StoredFile

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n" + b"x" * 100


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The data directory, apart from the test database's own file."""
    return tmp_path / "data"


def incoming(content: bytes = PDF) -> Incoming:
    return Incoming(content, "file-1", "unique-1", "report.pdf", "application/pdf")


async def store(files: ArchiveChanges, session: AsyncSession, relative_dir: str) -> StoredFile:
    """The test's one PDF, stored under archive/relative_dir."""
    return await files.store(
        session,
        relative_dir=Path(relative_dir),
        stem="file",
        extension="pdf",
        incoming=incoming(),
        person_id=None,
        now=NOW,
    )


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def stored_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(StoredFile)) or 0)


async def test_a_stored_file_stays_when_its_row_commits(db: Database, data: Path) -> None:
    async with archive_changes(data) as files, db.transaction() as session:
        row = await store(files, session, "p/person-1/stage-1/draft-1")
    (path,) = files_under(data / "archive")
    assert path.read_bytes() == PDF
    assert str(path.relative_to(data)) == row.archive_path
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert await stored_count(db) == 1


async def test_a_failed_transaction_leaves_no_file_and_no_part(db: Database, data: Path) -> None:
    with pytest.raises(RuntimeError, match="after the write"):
        async with archive_changes(data) as files, db.transaction() as session:
            await store(files, session, "p/person-1/stage-1/draft-1")
            raise RuntimeError("the use case failed after the write")
    assert files_under(data) == []
    assert await stored_count(db) == 0


async def test_a_moved_file_keeps_its_old_name_until_the_commit(db: Database, data: Path) -> None:
    async with archive_changes(data) as files, db.transaction() as session:
        row = await store(files, session, "p/person-1/stage-1/draft-1")
    old = data / row.archive_path
    with pytest.raises(RuntimeError):
        async with archive_changes(data) as files, db.transaction() as session:
            moving = await session.get_one(StoredFile, row.id)
            await files.move(moving, Path("p/person-1/stage-1/v1"))
            raise RuntimeError("commit failed")
    assert files_under(data / "archive") == [old]
    async with archive_changes(data) as files, db.transaction() as session:
        moving = await session.get_one(StoredFile, row.id)
        await files.move(moving, Path("p/person-1/stage-1/v1"))
    (moved,) = files_under(data / "archive")
    assert moved.parent.name == "v1" and moved.read_bytes() == PDF
    assert not (data / "archive" / "p/person-1/stage-1/draft-1").exists()


async def test_the_sweep_removes_old_orphans_and_parts_and_keeps_known_files(
    db: Database, data: Path
) -> None:
    async with archive_changes(data) as files, db.transaction() as session:
        row = await store(files, session, "p/person-1/stage-1/v1")
    known = data / row.archive_path
    orphan = data / "archive/p/person-2/stage-1/v1/file-abc.pdf"
    part = data / "archive/p/person-3/x.pdf.part"
    fresh = data / "archive/p/person-4/new.pdf"
    for path in (orphan, part, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left behind")
    old = (NOW - timedelta(days=1)).timestamp()
    for path in (known, orphan, part):
        os.utime(path, (old, old))
    fresh_time = (NOW - timedelta(minutes=5)).timestamp()
    os.utime(fresh, (fresh_time, fresh_time))
    assert await sweep_orphans(db, data, NOW) == 2
    assert files_under(data / "archive") == sorted([known, fresh])
