"""Every submitted file in a ZIP, as person/assignment/vN/original-name, with a manifest.

The archive on disk keeps generated names; here each file gets back the name its author
gave it, made safe for every unzip tool (no folders, no control characters, no names
Windows refuses) and unique within its folder, so two "报告.pdf" in one version both
survive. Files are streamed into the ZIP in chunks (they can be large), and each one's
SHA-256 is computed from the bytes actually written, so the manifest describes the
archive as it is. A file missing on disk is listed as missing and the export goes on.

Writing is blocking: ``write_archive`` runs in a thread. With ``part_limit`` the files
are spread over several ZIPs, each under the limit and each with the manifest of its
own files (a file larger than the limit gets a part of its own).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from liaison.services.exports.progress import Progress
from liaison.services.exports.records import programme_info
from liaison.storage.database import Database
from liaison.storage.models import Assignment, Person, StoredFile, Submission

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("name", "size", "sha256", "submitted_at", "late", "status")
CHUNK = 1024 * 1024
# Room for the ZIP's own headers and the manifest, per file and per part.
ENTRY_OVERHEAD = 512
PART_OVERHEAD = 64 * 1024

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class FileEntry:
    """One stored file and where it goes in the ZIP."""

    name: str  # path inside the ZIP
    source: Path
    size: int  # as recorded when it was archived
    sha256: str  # as recorded
    submitted_at: datetime
    late: bool


@dataclass(frozen=True)
class ManifestLine:
    name: str
    size: int
    sha256: str
    submitted_at: datetime
    late: bool
    status: str  # ok, missing, changed (its bytes differ from the record)


@dataclass(frozen=True)
class ArchiveResult:
    parts: list[Path]
    lines: list[ManifestLine]

    @property
    def missing(self) -> list[ManifestLine]:
        return [line for line in self.lines if line.status != "ok"]


def safe_name(text: str, fallback: str = "file") -> str:
    """A file or folder name any unzip tool accepts; letters of every script are kept."""
    text = unicodedata.normalize("NFC", text)
    text = _UNSAFE.sub("_", text).strip().strip(".").strip()
    if not text or _WINDOWS_RESERVED.match(text):
        text = f"_{text}" if text else fallback
    encoded = text.encode()
    if len(encoded) > 150:
        _, dot, extension = text.rpartition(".")
        keep = extension if dot and len(extension) <= 10 else ""
        text = encoded[: 150 - len(keep) - 1].decode(errors="ignore") + (f".{keep}" if keep else "")
    return text


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``name (3)`` ... before its extension, whichever is free."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem} ({number})" + (f".{extension}" if extension else "")
    taken.add(candidate.casefold())
    return candidate


async def list_files(db: Database, data_dir: Path, programme_id: str) -> list[FileEntry]:
    """Every file of every submitted version, in person, assignment, version order."""
    async with db.read() as session:
        await programme_info(session, programme_id)
        rows = (
            await session.execute(
                select(StoredFile, Submission, Assignment.key, Person.id, Person.name)
                .join(Submission, Submission.id == StoredFile.submission_id)
                .join(Assignment, Assignment.id == Submission.assignment_id)
                .join(Person, Person.id == Submission.person_id)
                .where(Assignment.programme_id == programme_id)
                .order_by(Person.id, Assignment.due_at, Submission.version, StoredFile.id)
            )
        ).tuples()
        folders: dict[int, str] = {}
        taken_folders: set[str] = set()
        taken_names: dict[tuple[int, int], set[str]] = {}
        entries: list[FileEntry] = []
        for stored, submission, key, person_id, person_name in rows:
            if person_id not in folders:
                folders[person_id] = unique_name(safe_name(person_name, "person"), taken_folders)
            taken = taken_names.setdefault((person_id, submission.id), set())
            original = stored.original_name or Path(stored.archive_path).name
            base = f"{folders[person_id]}/{safe_name(key)}/v{submission.version}"
            entries.append(
                FileEntry(
                    f"{base}/{unique_name(safe_name(original), taken)}",
                    data_dir / stored.archive_path,
                    stored.size,
                    stored.sha256,
                    submission.submitted_at,
                    submission.is_late,
                )
            )
    return entries


def _zip_time(instant: datetime) -> tuple[int, int, int, int, int, int]:
    utc = instant.timetuple()
    return (max(utc.tm_year, 1980), utc.tm_mon, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec)


def _copy(entry: FileEntry, archive: zipfile.ZipFile) -> ManifestLine:
    """Streams one file into the ZIP; its line says what was really written."""
    try:
        source = entry.source.open("rb")
    except OSError:
        return ManifestLine(
            entry.name, entry.size, entry.sha256, entry.submitted_at, entry.late, "missing"
        )
    info = zipfile.ZipInfo(entry.name, _zip_time(entry.submitted_at))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    digest, size = hashlib.sha256(), 0
    with source, archive.open(info, "w", force_zip64=True) as target:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            target.write(chunk)
    sha = digest.hexdigest()
    status = "ok" if sha == entry.sha256 and size == entry.size else "changed"
    return ManifestLine(entry.name, size, sha, entry.submitted_at, entry.late, status)


def manifest_bytes(lines: list[ManifestLine]) -> bytes:
    """CSV in UTF-8 with a BOM, so Excel opens it with the Chinese names intact."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    for line in lines:
        writer.writerow(
            [
                line.name,
                line.size,
                line.sha256,
                line.submitted_at.isoformat(timespec="seconds"),
                "yes" if line.late else "no",
                line.status,
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


def _groups(entries: list[FileEntry], part_limit: int | None) -> Iterator[list[FileEntry]]:
    if part_limit is None:
        yield entries
        return
    group: list[FileEntry] = []
    used = PART_OVERHEAD
    for entry in entries:
        cost = entry.size + ENTRY_OVERHEAD + len(entry.name.encode()) * 2
        if group and used + cost > part_limit:
            yield group
            group, used = [], PART_OVERHEAD
        group.append(entry)
        used += cost
    yield group


def write_archive(
    entries: list[FileEntry],
    out: Path,
    *,
    part_limit: int | None = None,
    progress: Progress | None = None,
) -> ArchiveResult:
    """Writes the ZIP (or its parts beside ``out``); blocking, run it in a thread."""
    groups = list(_groups(entries, part_limit))
    parts: list[Path] = []
    lines: list[ManifestLine] = []
    if progress is not None:
        progress.set("files", 0, len(entries))
    for number, group in enumerate(groups, start=1):
        path = out if len(groups) == 1 else out.with_name(f"{out.stem}-part{number}{out.suffix}")
        part_lines: list[ManifestLine] = []
        with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
            for entry in group:
                part_lines.append(_copy(entry, archive))
                if progress is not None:
                    progress.advance(entry.name)
            archive.writestr(MANIFEST, manifest_bytes(part_lines), zipfile.ZIP_DEFLATED)
        parts.append(path)
        lines.extend(part_lines)
    return ArchiveResult(parts, lines)
