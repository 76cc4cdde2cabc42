"""Fetching a file a user sent, within a byte limit: the contract handlers rely on.

The implementations live in the composition root (bot/downloads.py): a streaming HTTP
download in production, the recording transport in tests and the offline demo.
"""

from __future__ import annotations

from typing import Protocol


class FileTooLarge(Exception):
    """The file is over the limit; nothing beyond the limit was read."""


class Downloader(Protocol):
    async def fetch(self, location: str, limit: int) -> bytes:
        """The file at ``location`` (a Bot API file URL or a local path), at most ``limit``
        bytes; raises FileTooLarge as soon as more arrive."""
        ...
