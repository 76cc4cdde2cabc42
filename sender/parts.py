"""A rendered text on the wire: one sendMessage, or several in order when it is too long.

The keyboard goes with the last part, so its buttons sit under the end of the text.
Each part is paced like any message (one a second per chat).
"""

from __future__ import annotations

from typing import Protocol

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode

from liaison.ui.text import split_html


class Pace(Protocol):
    async def wait(self, chat_id: int) -> None: ...


async def send_in_parts(
    bot: Bot, pacer: Pace, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None
) -> Message:
    """Sends ``text`` split under Telegram's limit; returns the last message sent."""
    parts = split_html(text)
    sent: Message | None = None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await pacer.wait(chat_id)
        sent = await bot.send_message(
            chat_id, part, parse_mode=ParseMode.HTML, reply_markup=keyboard if last else None
        )
    assert sent is not None
    return sent
