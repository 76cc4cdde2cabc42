"""Sending replies safely: HTML escaped, split under Telegram's 4,096-character limit."""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import Message, Update
from telegram.constants import MessageLimit, ParseMode

LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)

__all__ = ["LIMIT", "escape", "reply", "split_text"]


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Splits at line breaks (or spaces) so no chunk passes the limit or cuts an entity.

    Texts here are built from escaped fragments joined by newlines, so a break between
    lines never falls inside an HTML tag or entity.
    """
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            amp = line.rfind("&", 0, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    """Replies in the update's chat in HTML; long texts go out in several messages.

    Keyboards and other options apply to the last chunk only.
    """
    message = update.effective_message
    if message is None:
        return None
    chunks = split_text(text)
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
