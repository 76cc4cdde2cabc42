"""The file archive on disk, changed together with the database rows that describe it.

A use case that writes files opens ``archive_changes`` around its transaction: files it
stores are written at once (beside their final name, then renamed, so a name never
holds half a file) and deleted again if the transaction does not commit; files it
replaces are deleted only after the commit. A crash between the two leaves files no
row refers to; ``sweep_orphans`` removes them at the next start.

Layout: ``<data dir>/archive/<programme>/person-<id>/<assignment>/v<N>/`` with generated
names; the original name, size and SHA-256 live in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.storage.database import Database, current_unit_of_work
from liaison.storage.models import StoredFile

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the Bot API's limit for bots on Telegram's servers
ARCHIVE = "archive"
PART_SUFFIX = ".part"
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Incoming:
    """A file as it arrived from Telegram, before it is checked or archived."""

    data: bytes
    telegram_file_id: str
    telegram_file_unique_id: str
    original_name: str | None = None
    mime_type: str | None = None
    origin: dict[str, Any] | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def person_folders(data_dir: Path, programme_id: str, person_id: int) -> list[Path]:
    """Every archive folder that holds one person's files (submissions, voice answers)."""
    root = data_dir / ARCHIVE / programme_id
    return [root / f"person-{person_id}", root / str(person_id)]


def safe_part(text: str) -> str:
    """A path component made only of safe characters: nothing the user wrote reaches the disk."""
    cleaned = _SAFE.sub("-", text).strip("-")
    return cleaned[:60] or "x"


def private_folder(folder: Path) -> None:
    """Creates a folder and each missing parent with mode 0700.

    ``mkdir(parents=True)`` gives the parents it creates the default mode (0755 under
    the usual umask): the archive's programme and person folders would be listable by
    every local user. Each level is made here with 0700 instead.
    """
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for level in reversed(missing):
        level.mkdir(mode=0o700, exist_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    """Writes beside the target, then renames: a crash never leaves half a file under its name.

    Folders are 0700 and files 0600: the archive holds people's work and voices.
    """
    private_folder(path.parent)
    temporary = path.with_name(path.name + PART_SUFFIX)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _link_or_copy(source: Path, target: Path) -> None:
    private_folder(target.parent)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _remove_with_empty_parents(path: Path, stop: Path) -> None:
    path.unlink(missing_ok=True)
    folder = path.parent
    while folder != stop and folder.is_relative_to(stop):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


@dataclass
class ArchiveChanges:
    """The file side of one use case; see the module docstring for the rule."""

    data_dir: Path | None
    created: list[Path] = field(default_factory=list)
    obsolete: list[Path] = field(default_factory=list)

    def _root(self) -> Path:
        if self.data_dir is None:
            raise RuntimeError("this use case was not given the data directory")
        return self.data_dir

    async def store(
        self,
        session: AsyncSession,
        *,
        relative_dir: Path,
        stem: str,
        extension: str,
        incoming: Incoming,
        person_id: int | None,
        now: datetime,
        draft_id: int | None = None,
        submission_id: int | None = None,
    ) -> StoredFile:
        """Writes the bytes under archive/relative_dir and adds their row to the session."""
        root = self._root()
        digest = incoming.sha256
        name = f"{safe_part(stem)}-{digest[:12]}.{safe_part(extension).lower()}"
        path = root / ARCHIVE / relative_dir / name
        await asyncio.to_thread(_write_atomically, path, incoming.data)
        self.created.append(path)
        row = StoredFile(
            submission_id=submission_id,
            draft_id=draft_id,
            person_id=person_id,
            telegram_file_id=incoming.telegram_file_id,
            telegram_file_unique_id=incoming.telegram_file_unique_id,
            original_name=incoming.original_name,
            mime_type=incoming.mime_type,
            size=len(incoming.data),
            sha256=digest,
            archive_path=str(path.relative_to(root)),
            origin=incoming.origin,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        return row

    async def move(self, stored: StoredFile, relative_dir: Path) -> None:
        """Gives a stored file a new place (a draft's file becoming version N's).

        The new name is a hard link made now; the old name goes after the commit.
        """
        root = self._root()
        old = root / stored.archive_path
        new = root / ARCHIVE / relative_dir / old.name
        await asyncio.to_thread(_link_or_copy, old, new)
        self.created.append(new)
        self.obsolete.append(old)
        stored.archive_path = str(new.relative_to(root))

    def forget(self, stored: StoredFile) -> None:
        """The row is being deleted: its file goes once the deletion commits."""
        self.obsolete.append(self._root() / stored.archive_path)

    def _clean(self, paths: list[Path]) -> None:
        stop = self._root() / ARCHIVE
        for path in paths:
            _remove_with_empty_parents(path, stop)

    def undo(self) -> None:
        if self.created:
            self._clean(self.created)

    def finish(self) -> None:
        if self.obsolete:
            self._clean(self.obsolete)


@asynccontextmanager
async def archive_changes(data_dir: Path | None) -> AsyncIterator[ArchiveChanges]:
    """Open it outside the transaction: the block's end is after the commit.

    Inside an update's unit of work the transaction is only a savepoint: the files then
    follow the unit's own commit or rollback.
    """
    changes = ArchiveChanges(data_dir)
    try:
        yield changes
    except BaseException:
        await asyncio.to_thread(changes.undo)
        raise
    unit = current_unit_of_work()
    if unit is None:
        await asyncio.to_thread(changes.finish)
        return

    async def finish() -> None:
        await asyncio.to_thread(changes.finish)

    async def undo() -> None:
        await asyncio.to_thread(changes.undo)

    unit.after_commit(finish)
    unit.after_rollback(undo)


async def sweep_orphans(
    db: Database, data_dir: Path, now: datetime, *, grace: timedelta = timedelta(hours=1)
) -> int:
    """Removes half-written files and files no row refers to (left by a crash mid-use-case).

    Files younger than ``grace`` are left alone: their transaction may still be open.
    """
    root = data_dir / ARCHIVE
    if not root.exists():
        return 0
    async with db.read() as session:
        known = set(await session.scalars(select(StoredFile.archive_path)))
    cutoff = (now - grace).timestamp()

    def sweep() -> int:
        removed = 0
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            relative = str(path.relative_to(data_dir))
            stale = path.stat().st_mtime < cutoff
            if stale and (path.name.endswith(PART_SUFFIX) or relative not in known):
                _remove_with_empty_parents(path, root)
                removed += 1
        return removed

    removed = await asyncio.to_thread(sweep)
    if removed:
        log.warning("removed %s archive file(s) that no record refers to", removed)
    return removed
