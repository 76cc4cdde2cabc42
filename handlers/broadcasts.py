"""/broadcast and /broadcasts: a notice to an audience, previewed, confirmed, acknowledged.

The draft is a database row; the organizer's next text (or file) becomes its text (or
attachment) until Confirm or Cancel. Recipients press "Got it" under the notice.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from liaison.handlers.access import organizer_only
from liaison.handlers.replies import reply, show_in_place
from liaison.services.broadcasts import compose
from liaison.services.broadcasts.compose import Audience
from liaison.services.broadcasts.delivery import acknowledge, recent
from liaison.services.errors import DomainError
from liaison.services.people import set_awaiting
from liaison.storage.enums import AudienceKind, MediaKind
from liaison.ui.broadcasts import audience_menu, listing, phase_menu, preview, zone_menu
from liaison.ui.callbacks import AckButton, BadCallback, BroadcastButton, pattern
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text

KINDS = {"c": AudienceKind.CADRES, "s": AudienceKind.STAFF}


@organizer_only
async def on_broadcast(update: Update, context: BotContext) -> None:
    """Starts a new notice: the audience first."""
    actor = context.actor
    assert actor is not None
    draft = await compose.start(context.db, actor, context.clock.now())
    text, keyboard = audience_menu(draft.id, context.t)
    await reply(update, text, reply_markup=keyboard)


@organizer_only
async def on_broadcasts(update: Update, context: BotContext) -> None:
    """The latest broadcasts: delivery, and who has pressed "Got it"."""
    actor = context.actor
    assert actor is not None
    found = await recent(context.db, actor)
    await reply(update, listing(found, actor.timezone, context.t))


@organizer_only
async def on_button(update: Update, context: BotContext) -> None:
    """Audience, phase, zone, "Got it" toggle, Confirm and Cancel."""
    query, actor, t = update.callback_query, context.actor, context.t
    assert query is not None and actor is not None
    db, now = context.db, context.clock.now()
    try:
        button = BroadcastButton.decode(query.data or "")
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    bid = button.id
    try:
        if button.action == "a" and button.value in KINDS:
            draft = await compose.choose_audience(
                db, actor, bid, Audience(KINDS[button.value]), now
            )
            await query.answer()
            await show_in_place(update, *preview(draft, t))
        elif button.action == "a" and button.value == "p":
            await compose.draft_view(db, actor, bid, now)
            phases, _ = await compose.audience_options(db, actor)
            await query.answer()
            await show_in_place(update, *phase_menu(bid, phases, t))
        elif button.action == "a" and button.value == "z":
            await compose.draft_view(db, actor, bid, now)
            _, zones = await compose.audience_options(db, actor)
            await query.answer()
            await show_in_place(update, *zone_menu(bid, zones, t))
        elif button.action == "a" and button.value == "n":
            await compose.draft_view(db, actor, bid, now)
            await set_awaiting(db, actor.person_id, {"broadcast": bid, "names": True})
            await query.answer()
            await show_in_place(
                update,
                t("Send the names, separated by commas (for example: 王思远, 李晓雯)."),
                None,
            )
        elif button.action == "p" and button.value.isdigit():
            audience = Audience(AudienceKind.PHASE, int(button.value))
            draft = await compose.choose_audience(db, actor, bid, audience, now)
            await query.answer()
            await show_in_place(update, *preview(draft, t))
        elif button.action == "z" and button.value.isdigit():
            _, zones = await compose.audience_options(db, actor)
            if int(button.value) >= len(zones):
                raise BadCallback(query.data or "")
            audience = Audience(AudienceKind.ZONE, zones[int(button.value)])
            draft = await compose.choose_audience(db, actor, bid, audience, now)
            await query.answer()
            await show_in_place(update, *preview(draft, t))
        elif button.action == "k":
            draft = await compose.toggle_ack(db, actor, bid, now)
            await query.answer()
            await show_in_place(update, *preview(draft, t))
        elif button.action == "y":
            message = query.message
            draft = await compose.confirm(
                db,
                actor,
                bid,
                now,
                message.chat.id if message else None,
                message.message_id if message else None,
            )
            await query.answer()
            sending = t("📢 Sending to {count}…").format(count=draft.recipients)
            await show_in_place(update, sending, None)
        elif button.action == "x":
            await compose.cancel(db, actor, bid)
            await query.answer()
            await show_in_place(update, t("Broadcast cancelled; nothing was sent."), None)
        else:
            raise BadCallback(query.data or "")
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
    except DomainError as error:
        await query.answer(error_text(error, t), show_alert=True)


async def broadcast_input(update: Update, context: BotContext, awaiting: dict[str, object]) -> None:
    """The organizer's message for the draft: names, the text, or a file."""
    actor, message, t = context.actor, update.effective_message, context.t
    assert actor is not None and message is not None
    bid, now, db = int(str(awaiting["broadcast"])), context.clock.now(), context.db
    try:
        if awaiting.get("names"):
            if not message.text:
                await reply(update, t("Please send the names as text, or /cancel."))
                return
            draft = await compose.name_people(db, actor, bid, message.text, now)
            await set_awaiting(db, actor.person_id, {"broadcast": bid})
        elif message.document is not None:
            document = message.document
            draft = await compose.set_file(
                db,
                actor,
                bid,
                document.file_id,
                MediaKind.DOCUMENT,
                document.file_name,
                message.caption,
                now,
            )
        elif message.photo:
            draft = await compose.set_file(
                db,
                actor,
                bid,
                message.photo[-1].file_id,
                MediaKind.PHOTO,
                None,
                message.caption,
                now,
            )
        elif message.text:
            draft = await compose.set_text(db, actor, bid, message.text, now)
        else:
            await reply(update, t("Please send text, a document or a photo, or /cancel."))
            return
    except DomainError as error:
        await reply(update, error_text(error, t))
        return
    text, keyboard = preview(draft, t)
    await reply(update, text, reply_markup=keyboard)


async def on_ack(update: Update, context: BotContext) -> None:
    """ "Got it" under a broadcast, from whoever received it."""
    query, actor, t = update.callback_query, context.actor, context.t
    if query is None or actor is None:
        return
    try:
        broadcast_id = AckButton.decode(query.data or "").broadcast_id
        first = await acknowledge(context.db, actor, broadcast_id, context.clock.now())
    except BadCallback:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    except DomainError as error:
        await query.answer(error_text(error, t), show_alert=True)
        return
    await query.answer(t("Thank you, noted.") if first else t("Already noted, thank you."))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("broadcast", on_broadcast))
    app.add_handler(CommandHandler("broadcasts", on_broadcasts))
    app.add_handler(CallbackQueryHandler(on_button, pattern=pattern(BroadcastButton.PREFIX)))
    app.add_handler(CallbackQueryHandler(on_ack, pattern=pattern(AckButton.PREFIX)))
