"""The error handler: log with context (token redacted by the formatter), tell the user."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from liaison.ui.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Logs every unhandled error and apologises to the user in their language."""
    update_id = update.update_id if isinstance(update, Update) else None
    user_id = (
        update.effective_user.id if isinstance(update, Update) and update.effective_user else None
    )
    log.error(
        "unhandled error in update %s from user %s", update_id, user_id, exc_info=context.error
    )
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    t = context.t
    text = t("Sorry, something went wrong on our side. Please try again in a minute.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        else:
            await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as exc:
        log.warning("could not tell user %s about the error: %s", user_id, exc)
