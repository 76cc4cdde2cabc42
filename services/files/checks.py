"""Is this file what its name says? Extension against the assignment, content by magic bytes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

# Extensions that share one container, so content detection cannot tell them apart.
FAMILIES = [
    {"jpg", "jpeg"},
    {"doc", "xls", "ppt"},  # OLE compound files
    {"txt", "md", "csv"},  # plain text has no signature
    {"ogg", "oga", "opus"},
]
TEXT = {"txt", "md", "csv"}


@dataclass(frozen=True)
class FileVerdict:
    ok: bool
    extension: str
    reason: str | None = None  # empty, not_accepted, content_mismatch


def extension_of(file_name: str | None, default: str) -> str:
    if not file_name:
        return default
    suffix = PurePath(file_name).suffix.lower().lstrip(".")
    return suffix or default


def detect(data: bytes) -> str | None:
    """The extension the content looks like, from filetype, else puremagic."""
    import filetype  # both load their signature tables: only uploads need them
    import puremagic

    found = filetype.guess_extension(data)
    if found:
        return str(found).lower()
    try:
        magic = puremagic.from_string(data)
    except (puremagic.PureError, ValueError):
        return None
    return str(magic).lower().lstrip(".") or None


def _same_family(first: str, second: str) -> bool:
    return first == second or any(first in group and second in group for group in FAMILIES)


def _looks_like_text(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def check_file(
    data: bytes, file_name: str | None, default_extension: str, accepted: list[str]
) -> FileVerdict:
    """Accepts a file only when its name and its content agree and the format is allowed."""
    extension = extension_of(file_name, default_extension)
    if not data:
        return FileVerdict(False, extension, "empty")
    if not any(_same_family(extension, fmt) for fmt in accepted):
        return FileVerdict(False, extension, "not_accepted")
    if extension in TEXT:
        ok = _looks_like_text(data)
        return FileVerdict(ok, extension, None if ok else "content_mismatch")
    found = detect(data)
    if found is None or not _same_family(extension, found):
        return FileVerdict(False, extension, "content_mismatch")
    return FileVerdict(True, extension)
