"""Backups an operator can trust: a consistent database copy and the files it refers to.

The SQLite database is copied with SQLite's online backup API, which gives one
consistent snapshot while the bot keeps writing. The files are then copied as the
snapshot lists them (each checked against its SHA-256), so the copy never refers to a
file it lacks; a file deleted between the snapshot and its copy is named in the
manifest as missing. PostgreSQL is backed up with pg_dump (see the README); for it this
copies the files and writes the manifest.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from liaison.storage.database import Database
from liaison.storage.models import StoredFile

MANIFEST = "manifest.json"
DATABASE_FILE = "liaison.db"
FORMAT = 1


class BackupRefused(Exception):
    """The target is not empty, or the source is not a backup; ``str`` says why.

    An operator's error on the command line, not a refusal in the bot: no translation.
    """


@dataclass
class BackupReport:
    directory: Path
    database: str
    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)


def sqlite_path(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _snapshot_sqlite(source: Path, target: Path) -> None:
    live, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        live.backup(copy)
        # The copy is one self-contained file, whatever journal mode the live one uses.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        live.close()


def _files_in_snapshot(snapshot: Path) -> list[tuple[str, str]]:
    connection = sqlite3.connect(snapshot)
    try:
        return list(connection.execute("SELECT archive_path, sha256 FROM stored_files"))
    finally:
        connection.close()


def _copy_files(
    data_dir: Path, target: Path, files: list[tuple[str, str]], report: BackupReport
) -> list[dict[str, Any]]:
    listed = []
    for relative, sha256 in sorted(set(files)):
        source = data_dir / relative
        if not source.is_file():
            report.missing.append(relative)
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        actual = _sha256(destination)
        if actual != sha256:
            destination.unlink()
            report.missing.append(relative)
            continue
        size = destination.stat().st_size
        report.files += 1
        report.bytes += size
        listed.append({"path": relative, "size": size, "sha256": sha256})
    return listed


def _ensure_empty(directory: Path, what: str) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise BackupRefused(f"{directory} is not empty; {what} needs an empty directory")


async def backup(
    db: Database, database_url: str, data_dir: Path, target: Path, now: datetime
) -> BackupReport:
    """Writes a backup into ``target`` (created; it must be empty)."""

    def prepare() -> None:
        _ensure_empty(target, "a backup")
        target.mkdir(parents=True, exist_ok=True)

    await asyncio.to_thread(prepare)
    source = sqlite_path(database_url)
    report = BackupReport(target, "sqlite" if source else "postgresql")
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": now.isoformat()}
    if source is not None:
        snapshot = target / DATABASE_FILE
        await asyncio.to_thread(_snapshot_sqlite, source, snapshot)
        files = await asyncio.to_thread(_files_in_snapshot, snapshot)
        manifest["database"] = {
            "kind": "sqlite",
            "file": DATABASE_FILE,
            "sha256": await asyncio.to_thread(_sha256, snapshot),
        }
    else:
        async with db.read() as session:
            files = [
                (row.archive_path, row.sha256) for row in await session.scalars(select(StoredFile))
            ]
        manifest["database"] = {"kind": "postgresql", "file": None, "note": "use pg_dump"}
    manifest["files"] = await asyncio.to_thread(_copy_files, data_dir, target, files, report)
    manifest["missing"] = report.missing
    text = json.dumps(manifest, indent=2)
    await asyncio.to_thread((target / MANIFEST).write_text, text, "utf-8")
    return report


def _restore(source: Path, data_dir: Path, database_url: str) -> int:
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupRefused(f"{source} has no {MANIFEST}: not a Liaison backup")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"unknown backup format {manifest.get('format')!r}")
    database = manifest["database"]
    target_db = sqlite_path(database_url)
    if database["kind"] == "sqlite":
        if target_db is None:
            raise BackupRefused("this backup holds an SQLite database; restore it to SQLite")
        if target_db.exists():
            raise BackupRefused(f"{target_db} exists; restore needs an empty data directory")
    _ensure_empty(data_dir / "archive", "a restore")
    for item in manifest["files"]:
        if _sha256(source / item["path"]) != item["sha256"]:
            raise BackupRefused(f"{item['path']} does not match its checksum")
    if database["kind"] == "sqlite":
        copy = source / database["file"]
        if _sha256(copy) != database["sha256"]:
            raise BackupRefused("the database copy does not match its checksum")
        assert target_db is not None
        target_db.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(copy, target_db)
    for item in manifest["files"]:
        destination = data_dir / item["path"]
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy2(source / item["path"], destination)
        destination.chmod(0o600)
    return len(manifest["files"])


async def restore(source: Path, data_dir: Path, database_url: str) -> int:
    """Restores a backup into an empty data directory; returns the number of files."""
    return await asyncio.to_thread(_restore, source, data_dir, database_url)
