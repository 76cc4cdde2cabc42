"""A file that goes out with a message: a chart made here, or a file sent again by its id."""

from __future__ import annotations

from dataclasses import dataclass

from liaison.storage.enums import MediaKind


@dataclass(frozen=True)
class Media:
    """``content`` is the file's bytes (a chart) or a Telegram file_id (a file sent again)."""

    kind: MediaKind
    content: bytes | str
    filename: str | None = None
    caption: str | None = None
