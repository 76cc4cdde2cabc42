"""Replying in the update's chat: HTML, and long texts in several messages."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

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


async def show_in_place(
    update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Shows the next screen in place of the message whose button was pressed.

    A text too long for one message is sent afresh, in several; a double tap asks for the
    same screen again, an edit Telegram refuses as "not modified", which is no error.
    """
    query = update.callback_query
    assert query is not None
    if len(split_html(text)) > 1:
        await reply(update, text, reply_markup=keyboard)
        return
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
