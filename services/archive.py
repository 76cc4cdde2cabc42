"""The file archive on disk: a browsable layout, generated names, checksums in the database."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from liaison.storage.database import Database
from liaison.storage.models import StoredFile

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # the Bot API's limit for bots on Telegram's servers
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


class FileTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Archived:
    file_id: int
    path: Path
    sha256: str
    size: int


def safe_part(text: str) -> str:
    """A path component made only of safe characters: nothing the user wrote reaches the disk."""
    cleaned = _SAFE.sub("-", text).strip("-")
    return cleaned[:60] or "x"


def _write_atomically(path: Path, data: bytes) -> None:
    """Writes beside the target, then renames: a crash never leaves half a file under its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".part")
    temporary.write_bytes(data)
    temporary.replace(path)


async def archive_bytes(
    db: Database,
    data_dir: Path,
    *,
    relative_dir: Path,
    stem: str,
    extension: str,
    data: bytes,
    telegram_file_id: str,
    telegram_file_unique_id: str,
    original_name: str | None,
    mime_type: str | None,
    person_id: int | None,
    now: datetime,
    submission_id: int | None = None,
) -> Archived:
    """Writes the bytes under data_dir/archive/relative_dir and records them."""
    digest = hashlib.sha256(data).hexdigest()
    directory = data_dir / "archive" / relative_dir
    path = directory / f"{safe_part(stem)}-{digest[:12]}.{safe_part(extension).lower()}"
    await asyncio.to_thread(_write_atomically, path, data)
    async with db.transaction() as session:
        row = StoredFile(
            submission_id=submission_id,
            person_id=person_id,
            telegram_file_id=telegram_file_id,
            telegram_file_unique_id=telegram_file_unique_id,
            original_name=original_name,
            mime_type=mime_type,
            size=len(data),
            sha256=digest,
            archive_path=str(path.relative_to(data_dir)),
            created_at=now,
        )
        session.add(row)
        await session.flush()
        return Archived(row.id, path, digest, len(data))
