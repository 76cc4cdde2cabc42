"""/language and /timezone: the reader chooses how texts and times are shown."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from liaison.handlers.menu import set_menu_for_chat
from liaison.handlers.replies import reply
from liaison.services.errors import UnknownLocale, UnknownTimezone
from liaison.services.people import Actor, set_locale, set_timezone
from liaison.ui.callbacks import BadCallback, LanguageButton, TimezoneButton, pattern
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text
from liaison.ui.i18n import translator
from liaison.ui.text import escape

LANGUAGE_NAMES = {"zh_CN": "中文（简体）", "en": "English"}
US_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")


def likely_zones(actor: Actor) -> list[str]:
    zones = [actor.host_timezone, actor.home_timezone, *US_ZONES, "Europe/London"]
    return list(dict.fromkeys(zones))


async def on_language(update: Update, context: BotContext) -> None:
    """Offers the languages as buttons."""
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=LanguageButton(code).encode())
                for code, label in LANGUAGE_NAMES.items()
            ]
        ]
    )
    await reply(update, context.t("Choose your language:"), reply_markup=keyboard)


async def on_language_button(update: Update, context: BotContext) -> None:
    """Saves the chosen language and answers in it."""
    query, actor, chat = update.callback_query, context.actor, update.effective_chat
    if query is None or actor is None or query.data is None:
        return
    try:
        locale = await set_locale(
            context.db, actor.person_id, LanguageButton.decode(query.data).locale
        )
    except (BadCallback, UnknownLocale):
        await query.answer(context.t("This button is no longer valid."), show_alert=True)
        return
    context.t = t = translator(locale)
    await query.answer()
    await query.edit_message_text(
        t("Language set to {language}.").format(language=LANGUAGE_NAMES[locale])
    )
    if chat is not None:
        await set_menu_for_chat(
            context.bot, chat.id, actor.role, locale, db=context.db, person_id=actor.person_id
        )


def _zone_keyboard(actor: Actor) -> InlineKeyboardMarkup:
    zones = likely_zones(actor)
    rows = [
        [
            InlineKeyboardButton(name, callback_data=TimezoneButton(name).encode())
            for name in zones[index : index + 2]
        ]
        for index in range(0, len(zones), 2)
    ]
    return InlineKeyboardMarkup(rows)


async def _confirm_zone(update: Update, context: BotContext, zone_name: str) -> str:
    actor = context.actor
    assert actor is not None
    t = context.t
    now = context.clock.now()
    other = actor.home_timezone if zone_name != actor.home_timezone else actor.host_timezone
    return t("Time zone set to {zone}. Your local time now: {now}.").format(
        zone=escape(zone_name), now=t.with_other_zone(now, zone_name, other)
    )


async def on_timezone(update: Update, context: BotContext) -> None:
    """Sets the zone given as an argument, or offers likely zones as buttons."""
    actor = context.actor
    if actor is None:
        return
    t = context.t
    if context.args:
        name = " ".join(context.args)
        try:
            zone_name = await set_timezone(context.db, actor.person_id, name)
        except UnknownTimezone as error:
            await reply(update, error_text(error, t))
            return
        await reply(update, await _confirm_zone(update, context, zone_name))
        return
    await reply(
        update,
        t(
            "Your time zone is {zone}. Choose another below, or send /timezone followed by "
            "its name, e.g. /timezone America/Chicago."
        ).format(zone=escape(actor.timezone)),
        reply_markup=_zone_keyboard(actor),
    )


async def on_timezone_button(update: Update, context: BotContext) -> None:
    """Saves the zone chosen from the keyboard."""
    query, actor = update.callback_query, context.actor
    if query is None or actor is None or query.data is None:
        return
    try:
        zone_name = await set_timezone(
            context.db, actor.person_id, TimezoneButton.decode(query.data).zone
        )
    except (BadCallback, UnknownTimezone):
        await query.answer(context.t("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    await query.edit_message_text(await _confirm_zone(update, context, zone_name))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("language", on_language))
    app.add_handler(
        CallbackQueryHandler(on_language_button, pattern=pattern(LanguageButton.PREFIX))
    )
    app.add_handler(CommandHandler("timezone", on_timezone))
    app.add_handler(
        CallbackQueryHandler(on_timezone_button, pattern=pattern(TimezoneButton.PREFIX))
    )
