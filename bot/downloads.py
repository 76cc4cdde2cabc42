"""Downloading files users send, streamed with a byte cap.

python-telegram-bot's ``File.download_*`` reads a whole file into memory before anyone
can look at its size, and a self-hosted Bot API serves files of up to 2 GB. Here the
download is streamed and stopped as soon as it passes the limit, whatever size Telegram
reported (or did not report).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from telegram import Bot
from telegram.error import NetworkError

from liaison.ui.downloads import FileTooLarge

CHUNK = 64 * 1024


def _read_local(path: Path, limit: int) -> bytes:
    """A file a self-hosted Bot API in --local mode left on this machine."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(str(limit))
    return data


class StreamingDownloader:
    """Streams a Bot API file URL over HTTP, stopping at ``limit`` bytes."""

    def __init__(
        self, *, timeout: float = 60.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._timeout = timeout
        self._transport = transport

    async def fetch(self, location: str, limit: int) -> bytes:
        if not location.startswith(("http://", "https://")):
            return await asyncio.to_thread(_read_local, Path(location), limit)
        received = bytearray()
        try:
            async with (
                httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client,
                client.stream("GET", location) as response,
            ):
                if response.status_code != httpx.codes.OK:
                    # The URL holds the token: the message names the status only.
                    raise NetworkError(f"file download failed: HTTP {response.status_code}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise FileTooLarge(declared)
                async for chunk in response.aiter_bytes(CHUNK):
                    received += chunk
                    if len(received) > limit:
                        raise FileTooLarge(str(len(received)))
        except httpx.HTTPError as exc:
            raise NetworkError(f"file download failed: {type(exc).__name__}") from None
        return bytes(received)


class RequestDownloader:
    """Fetches through the bot's own transport: the recording stand-in in tests and the demo."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def fetch(self, location: str, limit: int) -> bytes:
        data = await self._bot.request.retrieve(location)
        if len(data) > limit:
            raise FileTooLarge(str(len(data)))
        return data
