"""/result, /candidates and /select: results in the record, the ranking, and the decision.

The walk through the candidates is one message edited in place; its marks live in the
database (services/selection/decisions.py), so the buttons work after a restart.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from liaison.handlers.access import organizer_only, staff_only
from liaison.handlers.replies import reply, show_in_place
from liaison.services.errors import DomainError
from liaison.services.selection.decisions import (
    Card,
    Summary,
    cancel,
    confirm,
    mark,
    open_walk,
    summary,
)
from liaison.services.selection.ranking import candidates_ranked
from liaison.services.selection.results import record_result
from liaison.storage.enums import PersonStatus
from liaison.ui.callbacks import BadCallback, SelectionButton, pattern
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text
from liaison.ui.i18n import Translator
from liaison.ui.selection import (
    render_card,
    render_confirmed,
    render_ranking,
    render_recorded,
    render_summary,
)


def _screen(shown: Card | Summary, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    return render_card(shown, t) if isinstance(shown, Card) else render_summary(shown, t)


@organizer_only
async def on_result(update: Update, context: BotContext) -> None:
    """/result NAME TEST VALUE: records one test result, audited with who entered it."""
    actor, t = context.actor, context.t
    assert actor is not None
    args = context.args or []
    if len(args) < 3:
        await reply(update, t("Usage: /result NAME TEST VALUE, e.g. /result 刘婧 bft 高级"))
        return
    name, test, value = " ".join(args[:-2]), args[-2], args[-1]
    try:
        recorded = await record_result(context.db, actor, name, test, value, context.clock.now())
    except DomainError as error:
        await reply(update, error_text(error, t))
        return
    await reply(update, render_recorded(recorded, t))


@staff_only
async def on_candidates(update: Update, context: BotContext) -> None:
    """/candidates [TEST]: every candidate with their results, best first or by one test."""
    actor, t = context.actor, context.t
    assert actor is not None
    args = context.args or []
    try:
        ranking = await candidates_ranked(context.db, actor, args[0] if args else None)
    except DomainError as error:
        await reply(update, error_text(error, t))
        return
    await reply(update, render_ranking(ranking, t))


@organizer_only
async def on_select(update: Update, context: BotContext) -> None:
    """/select [NAME]: walks the candidates (from NAME's card), one card at a time."""
    actor, t = context.actor, context.t
    assert actor is not None
    args = context.args or []
    try:
        card = await open_walk(context.db, actor, name=" ".join(args) if args else None)
    except DomainError as error:
        await reply(update, error_text(error, t))
        return
    if card is None:
        await reply(update, t("There is nobody to select: no candidates are on the roster."))
        return
    text, keyboard = render_card(card, t)
    await reply(update, text, reply_markup=keyboard)


@organizer_only
async def on_selection_button(update: Update, context: BotContext) -> None:
    """Select / Not select, Previous / Next, Summary, Confirm and Cancel in the walk."""
    query, actor, t = update.callback_query, context.actor, context.t
    if query is None or query.data is None or actor is None:
        return
    try:
        button = SelectionButton.decode(query.data)
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    now = context.clock.now()
    try:
        if button.action in ("y", "n"):
            decision = PersonStatus.SELECTED if button.action == "y" else PersonStatus.NOT_SELECTED
            shown = await mark(context.db, actor, button.id, decision, now)
            await query.answer()
            await show_in_place(update, *_screen(shown, t))
        elif button.action == "v":
            card = await open_walk(context.db, actor, person_id=button.id)
            await query.answer()
            if card is None:
                await show_in_place(
                    update, t("There is nobody to select: no candidates are on the roster.")
                )
            else:
                await show_in_place(update, *render_card(card, t))
        elif button.action == "s":
            await query.answer()
            await show_in_place(update, *render_summary(await summary(context.db, actor), t))
        elif button.action == "c":
            confirmed = await confirm(context.db, actor, now)
            await query.answer(t("Selection confirmed."))
            await show_in_place(update, render_confirmed(confirmed, now, actor.timezone, t))
        else:
            dropped = await cancel(context.db, actor)
            await query.answer()
            await show_in_place(
                update,
                t("Selection closed; nothing changed. Unconfirmed marks dropped: {count}.").format(
                    count=dropped
                ),
            )
    except DomainError as error:
        await query.answer(error_text(error, t), show_alert=True)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("result", on_result))
    app.add_handler(CommandHandler("candidates", on_candidates))
    app.add_handler(CommandHandler("select", on_select))
    app.add_handler(
        CallbackQueryHandler(on_selection_button, pattern=pattern(SelectionButton.PREFIX))
    )
