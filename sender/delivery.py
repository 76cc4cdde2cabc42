"""One rendered message on the wire: its file first (a chart, a voice note), then its text.

Kept apart from the sender's outcome rules so they stay the same for every kind of message:
any Telegram error here is the row's outcome, whichever call raised it.
"""

from __future__ import annotations

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot

from liaison.sender.parts import Pace, send_in_parts
from liaison.storage.enums import MediaKind
from liaison.ui.media import Media
from liaison.ui.outbox import Rendered


def unthrottled(bot: Bot) -> ExtBot[None]:
    """The same bot (token, API and file URLs, request objects, defaults) without PTB's
    rate limiter: the outbox's Pacer alone throttles outbox sends, while replies to users
    keep the Application's AIORateLimiter (docs/outbox.md, Rates).

    The request objects are the Application's: initialised and shut down with it, so this
    bot needs no lifecycle of its own (and asks no getMe).
    """
    return ExtBot(
        bot.token,
        base_url=lambda _token: bot.base_url,
        base_file_url=lambda _token: bot.base_file_url,
        request=bot.request,
        get_updates_request=bot.request,
        defaults=getattr(bot, "defaults", None),
        rate_limiter=None,
    )


async def send_media(bot: Bot, chat_id: int, media: Media) -> Message:
    """Sends a file: bytes are uploaded, a str is a file_id Telegram already holds."""
    content = media.content
    if media.kind is MediaKind.PHOTO:
        return await bot.send_photo(chat_id, content, caption=media.caption)
    if media.kind is MediaKind.VOICE:
        return await bot.send_voice(chat_id, content, caption=media.caption)
    return await bot.send_document(chat_id, content, filename=media.filename, caption=media.caption)


async def deliver(bot: Bot, pacer: Pace, chat_id: int, rendered: Rendered) -> int | None:
    """Sends (or edits, for progress messages) one rendered row; returns the message id.

    A long text goes out in parts (sender/parts.py), each paced like any message."""
    if rendered.media is not None:
        await pacer.wait(chat_id)
        await send_media(bot, chat_id, rendered.media)
    if rendered.edit_message_id is not None:
        try:
            await bot.edit_message_text(
                rendered.text,
                chat_id=chat_id,
                message_id=rendered.edit_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=rendered.keyboard,
            )
        except BadRequest as exc:
            # Progress that did not move since the last edit: nothing to change, not a failure.
            if "not modified" not in exc.message.lower():
                raise
        return rendered.edit_message_id
    message = await send_in_parts(bot, pacer, chat_id, rendered.text, rendered.keyboard)
    return message.message_id
