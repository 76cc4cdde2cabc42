"""Organizer commands of the tracking work: notes of real calls, absences."""

from __future__ import annotations

import re
from datetime import date

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from liaison.handlers.replies import reply
from liaison.services import checkin_flow as flow
from liaison.services.absences import get_awaiting, record_absence, set_awaiting
from liaison.services.errors import (
    AmbiguousName,
    DomainError,
    InvalidDate,
    NotAllowed,
    PersonNotFound,
)
from liaison.storage.enums import Role
from liaison.ui.context import BotContext
from liaison.ui.i18n import Translator
from liaison.ui.text import escape

NOTE_LINK = re.compile(r"^/note_(\d+)(?:@\w+)?$")
DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def name_error_text(error: DomainError, name: str, t: Translator) -> str:
    """The answer when a name typed by an organizer matches nobody, or several people."""
    if isinstance(error, AmbiguousName):
        return t("Several people match {name}; use the full name.").format(name=escape(name))
    return t("Nobody called {name} is on the roster.").format(name=escape(name))


async def _organizer_only(update: Update, context: BotContext) -> bool:
    if context.actor is None or context.actor.role is not Role.ORGANIZER:
        await reply(update, context.t("Only organizers can do this."))
        return False
    return True


async def _save_note(update: Update, context: BotContext, run_id: int, text: str) -> None:
    actor = context.actor
    assert actor is not None
    try:
        name = await flow.add_note(context.db, actor.person_id, run_id, text, context.clock.now())
    except DomainError:
        await reply(update, context.t("There is no such check-in in your programme."))
        return
    await reply(update, context.t("Notes of the call with {name} saved.").format(name=escape(name)))


async def on_note_link(update: Update, context: BotContext) -> None:
    """/note_123 (tapped in an escalation): the next text message becomes the notes."""
    message = update.effective_message
    if message is None or message.text is None or not await _organizer_only(update, context):
        return
    match = NOTE_LINK.match(message.text.strip())
    assert match is not None and context.actor is not None
    await set_awaiting(context.db, context.actor.person_id, {"note_run": int(match.group(1))})
    await reply(
        update,
        context.t("Send the notes of the call as one message now, or /cancel."),
    )


async def on_note(update: Update, context: BotContext) -> None:
    """/note RUN TEXT records notes in one go."""
    if not await _organizer_only(update, context):
        return
    args = context.args or []
    if len(args) < 2 or not args[0].isdigit():
        await reply(update, context.t("Usage: /note RUN_NUMBER your notes of the call"))
        return
    await _save_note(update, context, int(args[0]), " ".join(args[1:]))


async def consume_awaiting(update: Update, context: BotContext) -> bool:
    """Takes a text message the person owes (notes of a call); True when it was consumed."""
    actor, message = context.actor, update.effective_message
    if actor is None or message is None or actor.role is not Role.ORGANIZER:
        return False
    awaiting = await get_awaiting(context.db, actor.person_id)
    if not awaiting or "note_run" not in awaiting:
        return False
    if not message.text:
        await reply(update, context.t("Please send the notes as text, or /cancel."))
        return True
    await _save_note(update, context, int(str(awaiting["note_run"])), message.text)
    return True


def _parse_day(text: str) -> date:
    if not DATE.match(text):
        raise InvalidDate(text)
    year, month, day = (int(part) for part in text.split("-"))
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidDate(text) from None


async def on_absent(update: Update, context: BotContext) -> None:
    """/absent NAME FROM TO [REASON]: no check-ins for that person on those days."""
    if not await _organizer_only(update, context):
        return
    t, actor = context.t, context.actor
    assert actor is not None
    args = context.args or []
    dates = [i for i, arg in enumerate(args) if DATE.match(arg)]
    usage = t("Usage: /absent NAME YYYY-MM-DD YYYY-MM-DD [reason]")
    if len(dates) < 2 or dates[0] == 0 or dates[1] != dates[0] + 1:
        await reply(update, usage)
        return
    name = " ".join(args[: dates[0]])
    reason = " ".join(args[dates[1] + 1 :]) or None
    try:
        result = await record_absence(
            context.db,
            actor,
            name,
            _parse_day(args[dates[0]]),
            _parse_day(args[dates[1]]),
            reason,
            context.clock.now(),
        )
    except (PersonNotFound, AmbiguousName) as error:
        await reply(update, name_error_text(error, name, t))
        return
    except InvalidDate:
        await reply(update, usage)
        return
    except NotAllowed:
        await reply(update, t("Only organizers can do this."))
        return
    await reply(
        update,
        t("{name} is excused from check-ins from {first} to {last}.").format(
            name=escape(result.person_name),
            first=t.short_day(result.starts_on),
            last=t.short_day(result.ends_on),
        ),
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(MessageHandler(filters.Regex(NOTE_LINK) & filters.COMMAND, on_note_link))
    app.add_handler(CommandHandler("note", on_note))
    app.add_handler(CommandHandler("absent", on_absent))
