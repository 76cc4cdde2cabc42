"""/cohort, /person NAME and /p_ID: the cohort at a glance and one person's dossier.

Organizers and observers read these; nothing here writes. A name that fits several
people gets one button per person.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from liaison.handlers.access import staff_only
from liaison.handlers.replies import reply, show_in_place
from liaison.services.cohort import cohort_overview
from liaison.services.dossier import dossier, people_named
from liaison.services.errors import DomainError
from liaison.ui.callbacks import BadCallback, CohortButton, PersonButton, pattern
from liaison.ui.cohort import cohort_page
from liaison.ui.context import BotContext
from liaison.ui.dossier import choices, render_dossier
from liaison.ui.errors import error_text

PERSON_LINK = re.compile(r"^/p_(\d{1,12})(?:@\w+)?$")


@staff_only
async def on_cohort(update: Update, context: BotContext) -> None:
    """One line per cadre, those needing attention first; buttons page past 20."""
    actor = context.actor
    assert actor is not None
    now = context.clock.now()
    try:
        standings = await cohort_overview(context.db, actor, now)
    except DomainError as error:
        await reply(update, error_text(error, context.t))
        return
    text, keyboard = cohort_page(standings, 0, now, context.t)
    await reply(update, text, reply_markup=keyboard)


@staff_only
async def on_cohort_page(update: Update, context: BotContext) -> None:
    """Another page of /cohort, edited in place."""
    query, actor, t = update.callback_query, context.actor, context.t
    assert query is not None and actor is not None
    try:
        page = CohortButton.decode(query.data or "").page
        standings = await cohort_overview(context.db, actor, context.clock.now())
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    except DomainError as error:
        await query.answer(error_text(error, t), show_alert=True)
        return
    text, keyboard = cohort_page(standings, page, context.clock.now(), t)
    await query.answer()
    await show_in_place(update, text, keyboard)


async def _show(update: Update, context: BotContext, person_id: int) -> None:
    actor = context.actor
    assert actor is not None
    try:
        found = await dossier(context.db, actor, person_id)
    except DomainError as error:
        await reply(update, error_text(error, context.t))
        return
    await reply(update, render_dossier(found, actor.timezone, context.clock.now(), context.t))


@staff_only
async def on_person(update: Update, context: BotContext) -> None:
    """/person NAME: the dossier, or a choice when the name fits several people."""
    actor, t = context.actor, context.t
    assert actor is not None
    name = " ".join(context.args or []).strip()
    if not name:
        await reply(update, t("Usage: /person NAME (or tap /p_… in /cohort or the digest)"))
        return
    try:
        found = await people_named(context.db, actor, name)
    except DomainError as error:
        await reply(update, error_text(error, t))
        return
    if len(found) == 1:
        await _show(update, context, found[0].id)
        return
    text, keyboard = choices(found, t)
    await reply(update, text, reply_markup=keyboard)


@staff_only
async def on_person_link(update: Update, context: BotContext) -> None:
    """/p_12, tapped in the digest or /cohort."""
    message = update.effective_message
    assert message is not None and message.text is not None
    match = PERSON_LINK.match(message.text.strip())
    assert match is not None
    await _show(update, context, int(match.group(1)))


@staff_only
async def on_person_button(update: Update, context: BotContext) -> None:
    """One of the people a name matched."""
    query = update.callback_query
    assert query is not None
    try:
        person_id = PersonButton.decode(query.data or "").person_id
    except BadCallback:
        await query.answer(context.t("This button is no longer valid."), show_alert=True)
        return
    await query.answer()
    await _show(update, context, person_id)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("cohort", on_cohort))
    app.add_handler(CommandHandler("person", on_person))
    app.add_handler(MessageHandler(filters.Regex(PERSON_LINK) & filters.COMMAND, on_person_link))
    app.add_handler(CallbackQueryHandler(on_cohort_page, pattern=pattern(CohortButton.PREFIX)))
    app.add_handler(CallbackQueryHandler(on_person_button, pattern=pattern(PersonButton.PREFIX)))
