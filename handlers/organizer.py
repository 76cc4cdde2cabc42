"""Organizer commands of the tracking work: notes of real calls, absences, extensions."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from liaison.handlers.access import organizer_only
from liaison.handlers.broadcasts import broadcast_input
from liaison.handlers.replies import reply
from liaison.handlers.reviews import review_input
from liaison.services.checkins.absences import record_absence
from liaison.services.checkins.conversation import NotYourRun
from liaison.services.checkins.notes import add_note, expect_note
from liaison.services.dates import looks_like_day, parse_clock, parse_day
from liaison.services.errors import DomainError, InvalidDate
from liaison.services.people import get_awaiting
from liaison.services.submissions.extensions import grant_extension
from liaison.storage.enums import Role
from liaison.ui.callbacks import BadCallback, parse_id
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text
from liaison.ui.i18n import Translator
from liaison.ui.text import escape

NOTE_LINK = re.compile(r"^/note_(\d+)(?:@\w+)?$")
CLOCK = re.compile(r"^\d{1,2}:\d{2}$")


async def _save_note(update: Update, context: BotContext, run_id: int, text: str) -> None:
    actor = context.actor
    assert actor is not None
    try:
        name = await add_note(context.db, actor, run_id, text, context.clock.now())
    except NotYourRun:
        await reply(update, _no_such_run(context.t))
        return
    except DomainError as error:
        await reply(update, error_text(error, context.t))
        return
    await reply(update, context.t("Notes of the call with {name} saved.").format(name=escape(name)))


def _no_such_run(t: Translator) -> str:
    return t("There is no such check-in in your programme.")


@organizer_only
async def on_note_link(update: Update, context: BotContext) -> None:
    """/note_123 (tapped in an escalation): the next text message becomes the notes."""
    message = update.effective_message
    if message is None or message.text is None or context.actor is None:
        return
    match = NOTE_LINK.match(message.text.strip())
    assert match is not None
    try:
        await expect_note(context.db, context.actor, parse_id(match.group(1)))
    except (BadCallback, NotYourRun):
        await reply(update, _no_such_run(context.t))
        return
    except DomainError as error:
        await reply(update, error_text(error, context.t))
        return
    await reply(update, context.t("Send the notes of the call as one message now, or /cancel."))


@organizer_only
async def on_note(update: Update, context: BotContext) -> None:
    """/note RUN TEXT records notes in one go."""
    args = context.args or []
    usage = context.t("Usage: /note RUN_NUMBER your notes of the call")
    if len(args) < 2:
        await reply(update, usage)
        return
    try:
        run_id = parse_id(args[0])
    except BadCallback:
        await reply(update, usage)
        return
    await _save_note(update, context, run_id, " ".join(args[1:]))


async def consume_awaiting(update: Update, context: BotContext) -> bool:
    """Takes a message the organizer owes (notes of a call, a review's feedback or due date,
    a broadcast's text or file); True when it was consumed."""
    actor, message = context.actor, update.effective_message
    if actor is None or message is None or actor.role is not Role.ORGANIZER:
        return False
    awaiting = await get_awaiting(context.db, actor.person_id)
    if awaiting and "review" in awaiting:
        await review_input(update, context, awaiting)
        return True
    if awaiting and "broadcast" in awaiting:
        await broadcast_input(update, context, awaiting)
        return True
    if not awaiting or "note_run" not in awaiting:
        return False
    if not message.text:
        await reply(update, context.t("Please send the notes as text, or /cancel."))
        return True
    await _save_note(update, context, int(str(awaiting["note_run"])), message.text)
    return True


@organizer_only
async def on_absent(update: Update, context: BotContext) -> None:
    """/absent NAME FROM TO [REASON]: no check-ins for that person on those days."""
    t, actor = context.t, context.actor
    assert actor is not None
    args = context.args or []
    dates = [i for i, arg in enumerate(args) if looks_like_day(arg)]
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
            parse_day(args[dates[0]]),
            parse_day(args[dates[1]]),
            reason,
            context.clock.now(),
        )
    except InvalidDate as error:
        await reply(update, f"{error_text(error, t)}\n{usage}")
        return
    except DomainError as error:
        await reply(update, error_text(error, t))
        return
    await reply(
        update,
        t("{name} is excused from check-ins from {first} to {last}.").format(
            name=escape(result.person_name),
            first=t.short_day(result.starts_on),
            last=t.short_day(result.ends_on),
        ),
    )


@organizer_only
async def on_extend(update: Update, context: BotContext) -> None:
    """/extend NAME ASSIGNMENT YYYY-MM-DD [HH:MM]: a later due time for one cadre."""
    actor, t = context.actor, context.t
    assert actor is not None
    args = context.args or []
    usage = t("Usage: /extend NAME ASSIGNMENT YYYY-MM-DD [HH:MM]")
    time_part = args[-1] if args and CLOCK.match(args[-1]) else None
    rest = args[:-1] if time_part else args
    if len(rest) < 3 or not looks_like_day(rest[-1]):
        await reply(update, usage)
        return
    name, key = " ".join(rest[:-2]), rest[-2]
    try:
        granted = await grant_extension(
            context.db,
            actor,
            name,
            key,
            parse_day(rest[-1]),
            parse_clock(time_part) if time_part else None,
            context.clock.now(),
        )
    except InvalidDate as error:
        await reply(update, f"{error_text(error, t)}\n{usage}")
        return
    except DomainError as error:
        await reply(update, error_text(error, t))
        return
    view = granted.assignment
    await reply(
        update,
        t("{name} now has until {when} for {title}.").format(
            name=escape(granted.person_name),
            when=t.with_other_zone(view.due_at, actor.timezone, view.timezone, full=True),
            title=escape(t.pick(view.title_zh, view.title_en)),
        ),
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(MessageHandler(filters.Regex(NOTE_LINK) & filters.COMMAND, on_note_link))
    app.add_handler(CommandHandler("note", on_note))
    app.add_handler(CommandHandler("absent", on_absent))
    app.add_handler(CommandHandler("extend", on_extend))
