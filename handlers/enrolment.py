"""/start, shared contacts and one-time codes: becoming a known user."""

from __future__ import annotations

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from liaison.handlers.help import help_text
from liaison.handlers.menu import set_menu_for_chat
from liaison.handlers.replies import reply
from liaison.services import enrolment
from liaison.services.errors import ContactNotOwn, DomainError
from liaison.services.people import Actor
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text
from liaison.ui.i18n import Translator, translator
from liaison.ui.text import escape


def contact_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t("📱 Share my phone number"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


async def _welcome(update: Update, context: BotContext, actor: Actor, already: bool) -> None:
    context.actor = actor
    if actor.locale:
        context.t = translator(actor.locale)
    t = context.t
    if already:
        text = t("Welcome back, {name}.").format(name=escape(actor.name))
    else:
        text = t("Welcome, {name}! Your account is now linked to the programme.").format(
            name=escape(actor.name)
        )
    await reply(update, text, reply_markup=ReplyKeyboardRemove())
    await reply(update, help_text(actor, t))
    chat = update.effective_chat
    if chat is not None and not already:
        await set_menu_for_chat(
            context.bot, chat.id, actor.role, t.locale, db=context.db, person_id=actor.person_id
        )


async def on_start(update: Update, context: BotContext) -> None:
    """Greets known users; offers strangers the contact button or redeems /start CODE."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    t = context.t
    if context.actor is not None:
        await _welcome(update, context, context.actor, already=True)
        return
    if context.args:
        try:
            result = await enrolment.enrol_by_code(
                context.db,
                context.clock,
                telegram_user_id=user.id,
                chat_id=chat.id,
                code=context.args[0],
            )
        except DomainError as error:
            await reply(update, error_text(error, t))
            return
        await _welcome(update, context, result.actor, result.already)
        return
    await reply(
        update,
        t(
            "Hello! This bot keeps participants of an overseas training programme in touch "
            "with the organizers at home. To link your account, share your phone number with "
            "the button below, or send /start followed by the code the organizers gave you."
        ),
        reply_markup=contact_keyboard(t),
    )


async def on_contact(update: Update, context: BotContext) -> None:
    """Links the account when the shared contact is the sender's own and on the roster."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or message.contact is None or user is None or chat is None:
        return
    try:
        result = await enrolment.enrol_by_contact(
            context.db,
            context.clock,
            telegram_user_id=user.id,
            chat_id=chat.id,
            contact_user_id=message.contact.user_id,
            phone=message.contact.phone_number,
            default_region=context.bot_data.default_phone_region,
        )
    except ContactNotOwn as error:
        await reply(update, error_text(error, context.t), reply_markup=contact_keyboard(context.t))
        return
    except DomainError as error:
        await reply(update, error_text(error, context.t), reply_markup=ReplyKeyboardRemove())
        return
    await _welcome(update, context, result.actor, result.already)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("start", on_start, filters=filters.ChatType.PRIVATE))
    app.add_handler(MessageHandler(filters.CONTACT & filters.ChatType.PRIVATE, on_contact))
