"""The guard in group -1: drops groups, loads the actor, stops strangers.

A repeated update never gets here: the inbox stores each update_id once and handles it
once (bot/inbox.py).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from liaison.handlers.access import refuse_access_ended
from liaison.services import log_context
from liaison.services.people import load_actor
from liaison.ui.context import BotContext
from liaison.ui.i18n import choose_locale, translator

log = logging.getLogger(__name__)

# Commands a stranger may use: they lead to enrolment and reveal nothing.
OPEN_COMMANDS = ("/start", "/help")


def is_enrolment_update(update: Update) -> bool:
    message = update.message
    if message is None:
        return False
    if message.contact is not None:
        return True
    text = message.text or ""
    command = text.split(maxsplit=1)[0].split("@")[0].lower() if text else ""
    return command in OPEN_COMMANDS


async def guard(update: Update, context: BotContext) -> None:
    """Runs before every handler; raising ApplicationHandlerStop ends the update here."""
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        # The bot is a private assistant: groups and channels get no answer at all.
        raise ApplicationHandlerStop
    user = update.effective_user
    actor = await load_actor(context.db, user.id) if user else None
    context.actor = actor
    log_context.set_person(actor.person_id if actor else None)
    context.t = translator(
        choose_locale(
            actor.locale if actor else None,
            user.language_code if user else None,
            actor.programme_locale if actor else None,
            context.bot_data.default_locale,
        )
    )
    if actor is None and not is_enrolment_update(update):
        await refuse_stranger(update, context)
        raise ApplicationHandlerStop
    if actor is not None and not actor.has_access:
        # Withdrawn: treated as not enrolled, and told so (handlers/access.py).
        await refuse_access_ended(update, context)
        raise ApplicationHandlerStop


async def refuse_stranger(update: Update, context: BotContext) -> None:
    t = context.t
    text = t(
        "Sorry, this bot serves the participants of a training programme, and your account "
        "is not linked yet. Send /start to link it with your phone number or your code."
    )
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None and update.message is not None:
        await update.effective_message.reply_text(text, do_quote=False)
