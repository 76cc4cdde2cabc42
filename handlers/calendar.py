"""/calendar: the person's schedule and deadlines as an .ics file for their phone."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler

from liaison.handlers.replies import reply
from liaison.services.exports.calendar import calendar_for
from liaison.ui.context import BotContext


async def on_calendar(update: Update, context: BotContext) -> None:
    """Sends the reader's calendar: cadres their own deadlines, staff every deadline."""
    from liaison.ui.calendar import calendar_bytes

    actor, message, t = context.actor, update.effective_message, context.t
    if actor is None or message is None:
        return
    data = await calendar_for(context.db, actor.programme_id, person_id=actor.person_id)
    payload = calendar_bytes(data, context.clock.now(), t.locale)
    if not data.sessions and not data.deadlines:
        await reply(update, t("Your programme has no sessions or deadlines yet."))
        return
    await message.reply_document(
        payload,
        filename=f"{actor.programme_id}.ics",
        caption=t(
            "Your schedule and deadlines as a calendar file. Open it to add them to your "
            "phone's calendar; each session keeps its own time zone. Send /calendar again "
            "after a change: the events are updated in place."
        ),
        parse_mode=ParseMode.HTML,
        do_quote=False,
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("calendar", on_calendar))
