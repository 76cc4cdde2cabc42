"""Taking in a file a user sent: size checked before, during and after the download.

Telegram's update may not say how big a file is. getFile's answer is checked next, and
the download itself is streamed with a cap (bot/downloads.py), so a file over the limit
is never held in memory whole, whatever either of them said.
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from liaison.handlers.replies import reply
from liaison.services.files.archive import MAX_DOWNLOAD_BYTES
from liaison.ui.context import BotContext
from liaison.ui.downloads import FileTooLarge


async def fetch_attachment(
    update: Update, context: BotContext, attachment: Any, too_large: str
) -> bytes | None:
    """The attachment's bytes, or None after answering ``too_large``."""
    if attachment.file_size and attachment.file_size > MAX_DOWNLOAD_BYTES:
        await reply(update, too_large)
        return None
    telegram_file = await attachment.get_file()
    if telegram_file.file_size and telegram_file.file_size > MAX_DOWNLOAD_BYTES:
        await reply(update, too_large)
        return None
    try:
        return await context.bot_data.downloader.fetch(
            str(telegram_file.file_path), MAX_DOWNLOAD_BYTES
        )
    except FileTooLarge:
        await reply(update, too_large)
        return None
