"""The error handler: log with context (the token is redacted), tell the user in their language."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from liaison.services.people import load_actor
from liaison.ui.context import BotContext
from liaison.ui.i18n import Translator, choose_locale, translator

log = logging.getLogger(__name__)


async def reader_translator(update: Update, context: BotContext) -> Translator:
    """The reader's language: their stored locale, else Telegram's, else the programme's.

    PTB gives error handlers a fresh context (the guard's translator is not on it), so
    the person is read again, in a session of its own: the update's unit of work may
    be the thing that failed.
    """
    user = update.effective_user
    actor = None
    if user is not None:
        try:
            async with context.db.outside_unit_of_work():
                actor = await load_actor(context.db, user.id)
        except Exception as exc:  # the database may be why we are here
            log.warning("could not read user %s's language: %s", user.id, exc)
    return translator(
        choose_locale(
            actor.locale if actor else None,
            user.language_code if user else None,
            actor.programme_locale if actor else None,
            context.bot_data.default_locale,
        )
    )


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
    t = await reader_translator(update, context)
    text = t("Sorry, something went wrong on our side. Please try again in a minute.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        else:
            await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError as exc:
        log.warning("could not tell user %s about the error: %s", user_id, exc)
