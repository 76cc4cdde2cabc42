"""Check-ins in the chat: /checkin, the question buttons, typed and voice answers, edits.

Every step goes through services.checkin_flow, which keeps the state in the database;
nothing about a run lives in this process between two updates.
"""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from liaison.handlers import fallback
from liaison.handlers.files import fetch_attachment
from liaison.handlers.replies import reply
from liaison.services.checkins import conversation as flow
from liaison.services.checkins.answers import InvalidAnswer
from liaison.services.checkins.views import RunView
from liaison.services.errors import DomainError
from liaison.services.files.archive import Incoming
from liaison.services.files.quota import QuotaReached, quota_allows
from liaison.services.submissions.drafts import current_draft
from liaison.storage.enums import QuestionKind, Role
from liaison.ui.callbacks import BadCallback, CheckinButton, pattern
from liaison.ui.checkin import edit_menu, greeting, step_message
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text

log = logging.getLogger(__name__)


async def show_step(update: Update, context: BotContext, view: RunView) -> None:
    text, keyboard = step_message(view, context.t)
    await reply(update, text, reply_markup=keyboard)


async def on_checkin(update: Update, context: BotContext) -> None:
    """Starts or resumes the open check-in early."""
    actor = context.actor
    if actor is None:
        return
    if actor.role is not Role.CADRE:
        await reply(update, context.t("Check-ins are answered by participants."))
        return
    try:
        view = await flow.start(context.db, actor.person_id, context.clock.now())
    except DomainError as error:
        await reply(update, error_text(error, context.t))
        return
    if view.current == 0 and not view.answers:
        await reply(update, greeting(view, context.t))
    await show_step(update, context, view)


async def _close_buttons(update: Update) -> None:
    """Removes the keyboard of the message whose button was pressed, keeping its text."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def on_checkin_button(update: Update, context: BotContext) -> None:
    """Handles every check-in button: start, answer, skip, back, edit, confirm."""
    query, actor = update.callback_query, context.actor
    if query is None or actor is None or query.data is None:
        return
    t = context.t
    try:
        button = CheckinButton.decode(query.data)
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    db, now, person = context.db, context.clock.now(), actor.person_id
    try:
        if button.action == "g":
            view = await flow.start(db, person, now, button.run_id)
        elif button.action == "a":
            view = await flow.answer(db, person, button.run_id, button.question, button.value, now)
        elif button.action == "s":
            view = await flow.skip(db, person, button.run_id, button.question, now)
        elif button.action == "b":
            view = await flow.back(db, person, button.run_id, button.question, now)
        elif button.action == "e":
            view = await flow.edit(db, person, button.run_id, button.question, now)
        elif button.action == "m":
            view = await flow.own_view(db, person, button.run_id)
            await query.answer()
            text, keyboard = edit_menu(view, t)
            await reply(update, text, reply_markup=keyboard)
            return
        else:
            confirmed = await flow.confirm(db, person, button.run_id, now)
            await query.answer()
            await _close_buttons(update)
            await reply(
                update,
                t("Thank you! Your answers have been sent to the organizers."),
            )
            if confirmed.alerts:
                log.info("check-in %s raised %s alert(s)", button.run_id, len(confirmed.alerts))
            return
    except DomainError as error:
        await query.answer(error_text(error, t), show_alert=True)
        return
    await query.answer()
    await _close_buttons(update)
    await show_step(update, context, view)


async def _voice(update: Update, context: BotContext, now: datetime) -> Incoming | None:
    """Downloads a voice answer; None (after telling the user) when it cannot be taken."""
    message = update.effective_message
    if message is None or message.voice is None:
        return None
    voice, actor = message.voice, context.actor
    if actor is None:
        return None
    try:
        await quota_allows(context.db, actor.person_id, None, voice.file_size or 0, now)
    except QuotaReached as error:
        await reply(update, error_text(error, context.t))
        return None
    too_large = context.t(
        "This voice message is too large for the bot to download (over 20 MB). "
        "Please send a shorter one, or answer in text."
    )
    data = await fetch_attachment(update, context, voice, too_large)
    if data is None:
        return None
    return Incoming(data, voice.file_id, voice.file_unique_id, None, voice.mime_type)


async def answer_from_message(update: Update, context: BotContext, run: RunView) -> None:
    """Takes a typed or spoken message as the answer to the run's current question."""
    actor, message = context.actor, update.effective_message
    question = run.question
    if actor is None or message is None or question is None:
        return
    voice = None
    if message.voice is not None:
        if question.kind not in (QuestionKind.TEXT, QuestionKind.VOICE_OR_TEXT):
            await reply(update, error_text(InvalidAnswer("use_buttons"), context.t))
            return
        voice = await _voice(update, context, context.clock.now())
        if voice is None:
            return
    elif message.text is None:
        await reply(update, error_text(InvalidAnswer("use_buttons"), context.t))
        return
    try:
        view = await flow.answer(
            context.db,
            actor.person_id,
            run.run_id,
            question.index,
            message.text,
            context.clock.now(),
            voice=voice,
            data_dir=context.data_dir,
            message_id=message.message_id,
        )
    except DomainError as error:
        await reply(update, error_text(error, context.t))
        if isinstance(error, InvalidAnswer):
            await show_step(update, context, run)
        return
    await show_step(update, context, view)


async def on_edited(update: Update, context: BotContext) -> None:
    """An edited typed answer replaces the stored one until the run is confirmed."""
    actor, message = context.actor, update.edited_message
    if actor is None or message is None or message.text is None:
        await fallback.on_edited(update, context)
        return
    try:
        view = await flow.replace_edited(
            context.db, actor.person_id, message.message_id, message.text, context.clock.now()
        )
    except DomainError as error:
        await message.reply_text(error_text(error, context.t), do_quote=True)
        return
    if view is None:
        if await current_draft(context.db, actor.person_id) is not None:
            await message.reply_text(
                context.t(
                    "Edits are not applied to a draft. Send the correction as a new message, "
                    "or /cancel and start again."
                ),
                do_quote=True,
            )
            return
        await fallback.on_edited(update, context)
        return
    await message.reply_text(context.t("Your answer has been updated."), do_quote=True)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("checkin", on_checkin))
    app.add_handler(CallbackQueryHandler(on_checkin_button, pattern=pattern(CheckinButton.PREFIX)))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, on_edited))
