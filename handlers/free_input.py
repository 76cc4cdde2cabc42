"""Messages that are not commands: where does this text, file or voice message belong?

In order: notes an organizer owes; the answer to a check-in the cadre has started; the
cadre's open draft; a check-in not yet started; otherwise a short explanation.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from liaison.handlers import fallback
from liaison.handlers.checkin import answer_from_message
from liaison.handlers.organizer import consume_awaiting
from liaison.handlers.replies import reply
from liaison.handlers.submissions import draft_input
from liaison.services.checkins.views import open_run
from liaison.services.people import get_awaiting, set_awaiting
from liaison.services.submissions.drafts import current_draft, discard
from liaison.storage.enums import Role, RunState
from liaison.ui.context import BotContext

STARTED = (RunState.IN_PROGRESS,)


async def on_message(update: Update, context: BotContext) -> None:
    """Routes a plain message to the conversation it belongs to."""
    actor, message = context.actor, update.effective_message
    if actor is None or message is None:
        return
    if await consume_awaiting(update, context):
        return
    if actor.role is not Role.CADRE:
        await fallback.on_other_message(update, context)
        return
    now = context.clock.now()
    run = await open_run(context.db, actor.person_id, now)
    draft = await current_draft(context.db, actor.person_id)
    started = run is not None and (run.state in STARTED or bool(run.answers))
    is_file = message.document is not None or bool(message.photo)
    if run is not None and started and not run.at_summary and not is_file:
        await answer_from_message(update, context, run)
        return
    if draft is not None:
        await draft_input(update, context, draft)
        return
    if run is not None and run.at_summary:
        await reply(update, context.t("Please confirm or edit your answers with the buttons."))
        return
    if run is not None and not is_file:
        await answer_from_message(update, context, run)
        return
    if is_file:
        await reply(
            update,
            context.t(
                "To submit a file, first choose the assignment with /report, /paper or "
                "/research, then send the file."
            ),
        )
        return
    await reply(
        update,
        context.t(
            "No check-in is open right now, so this message was not recorded. "
            "Send /help to see what I can do."
        ),
    )


async def on_cancel(update: Update, context: BotContext) -> None:
    """Stops what the person is doing: a draft, or notes an organizer was about to send."""
    actor = context.actor
    if actor is None:
        return
    cancelled = False
    if await get_awaiting(context.db, actor.person_id):
        await set_awaiting(context.db, actor.person_id, None)
        cancelled = True
    dropped = await discard(context.db, context.data_dir, actor.person_id, context.clock.now())
    if dropped is not None:
        await reply(update, context.t("Draft discarded."))
        return
    await reply(update, context.t("Cancelled.") if cancelled else context.t("Nothing to cancel."))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("cancel", on_cancel))
    app.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE
            & (
                (filters.TEXT & ~filters.COMMAND)
                | filters.VOICE
                | filters.Document.ALL
                | filters.PHOTO
            ),
            on_message,
        )
    )
