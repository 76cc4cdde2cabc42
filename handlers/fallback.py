"""Last resort answers: unknown commands, stray text, edits and stale buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from liaison.handlers.replies import reply
from liaison.ui.context import BotContext


async def on_unknown_command(update: Update, context: BotContext) -> None:
    """Points to /help instead of staying silent."""
    await reply(update, context.t("I don't know that command. Send /help to see what I can do."))


async def on_other_message(update: Update, context: BotContext) -> None:
    """Explains that free messages are not read by a person here."""
    await reply(
        update,
        context.t(
            "I did not understand that. Send /help to see what I can do. Messages here are "
            "not read by the organizers unless they are part of a report or a check-in."
        ),
    )


async def on_edited(update: Update, context: BotContext) -> None:
    """Edits are not re-processed: the first version counts, so say so."""
    if update.edited_message is None:
        return
    await update.edited_message.reply_text(
        context.t("Edited messages are not processed again. Please send a new message instead."),
        do_quote=True,
    )


async def on_stale_button(update: Update, context: BotContext) -> None:
    """Answers buttons whose data no handler recognises (forged or from an old version)."""
    if update.callback_query is not None:
        await update.callback_query.answer(
            context.t("This button is no longer valid."), show_alert=True
        )


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edited))
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, on_unknown_command)
    )
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, on_other_message))
    app.add_handler(CallbackQueryHandler(on_stale_button))
