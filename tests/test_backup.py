"""Backups taken while the bot writes restore into a working installation."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from liaison.bot.cli import main
from liaison.services.audit import record
from liaison.services.backup import BackupRefused, backup, restore
from liaison.services.files.archive import Incoming, archive_changes
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.models import AuditEvent, StoredFile

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


async def live_installation(data: Path) -> tuple[Database, str]:
    url = f"sqlite+aiosqlite:///{data / 'liaison.db'}"
    await asyncio.to_thread(data.mkdir, parents=True)
    db = Database.from_url(url)
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    for index in range(5):
        async with archive_changes(data) as files, db.transaction() as session:
            await files.store(
                session,
                relative_dir=Path(f"p/person-{index}/stage-1/v1"),
                stem="report",
                extension="pdf",
                incoming=Incoming(b"%PDF-1.4 " + bytes([index]) * 5000, f"f{index}", f"u{index}"),
                person_id=None,
                now=NOW,
            )
    return db, url


async def test_a_backup_taken_during_writes_restores_consistently(tmp_path: Path) -> None:
    db, url = await live_installation(tmp_path / "live")
    stop = asyncio.Event()
    written = 0

    async def keep_writing() -> None:
        nonlocal written
        while not stop.is_set():
            async with db.transaction() as session:
                await record(session, "test.write", details={"n": written}, at=NOW)
            written += 1
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.05)
    report = await backup(db, url, tmp_path / "live", tmp_path / "backup", NOW)
    await asyncio.sleep(0.05)
    stop.set()
    await writer
    await db.dispose()
    assert report.files == 5 and report.missing == []
    assert written > 0

    restored_dir = tmp_path / "restored"
    restored_url = f"sqlite+aiosqlite:///{restored_dir / 'liaison.db'}"
    assert await restore(tmp_path / "backup", restored_dir, restored_url) == 5
    connection = sqlite3.connect(restored_dir / "liaison.db")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copied_events = connection.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    finally:
        connection.close()
    assert 0 < copied_events <= written
    restored = Database.from_url(restored_url)
    try:
        async with restored.read() as session:
            rows = list(await session.scalars(select(StoredFile)))
            assert (
                await session.scalar(select(func.count()).select_from(AuditEvent)) == copied_events
            )
    finally:
        await restored.dispose()
    for row in rows:
        content = (restored_dir / row.archive_path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == row.sha256


async def test_restore_refuses_a_non_empty_data_directory_and_a_non_backup(
    tmp_path: Path,
) -> None:
    db, url = await live_installation(tmp_path / "live")
    await backup(db, url, tmp_path / "live", tmp_path / "backup", NOW)
    await db.dispose()
    with pytest.raises(BackupRefused, match="exists"):
        await restore(tmp_path / "backup", tmp_path / "live", url)
    with pytest.raises(BackupRefused, match="not empty"):
        await backup(db, url, tmp_path / "live", tmp_path / "backup", NOW)
    (tmp_path / "not-a-backup").mkdir()
    other = f"sqlite+aiosqlite:///{tmp_path / 'other' / 'liaison.db'}"
    with pytest.raises(BackupRefused, match="not a Liaison backup"):
        await restore(tmp_path / "not-a-backup", tmp_path / "other", other)


def test_backup_and_restore_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    live = {"LIAISON_DATA_DIR": str(tmp_path / "data"), "LIAISON_DATABASE_URL": ""}
    assert runner.invoke(main, ["db", "upgrade"], env=live).exit_code == 0
    result = runner.invoke(main, ["backup", str(tmp_path / "b")], env=live)
    assert result.exit_code == 0, result.output
    assert "sqlite database, 0 files" in result.output
    fresh = {"LIAISON_DATA_DIR": str(tmp_path / "fresh"), "LIAISON_DATABASE_URL": ""}
    result = runner.invoke(main, ["restore", str(tmp_path / "b")], env=fresh)
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["status", "--no-jobs"], env=fresh).exit_code == 0
    again = runner.invoke(main, ["restore", str(tmp_path / "b")], env=fresh)
    assert again.exit_code != 0 and "restore needs an empty data directory" in again.output
