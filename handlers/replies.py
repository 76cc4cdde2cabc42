"""Replying in the update's chat: HTML, and long texts in several messages."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.constants import ParseMode

from liaison.ui.text import split_html


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    """Replies in the update's chat in HTML; long texts go out in several messages.

    Keyboards and other options apply to the last chunk only.
    """
    message = update.effective_message
    if message is None:
        return None
    chunks = split_html(text)
    sent: Message | None = None
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        sent = await message.reply_text(
            chunk,
            parse_mode=ParseMode.HTML,
            do_quote=False,
            **(kwargs if last else {}),
        )
    return sent
