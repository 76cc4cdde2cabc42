"""/digest: the daily digest now, through the outbox like the one sent every morning."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from liaison.handlers.access import staff_only
from liaison.handlers.replies import reply
from liaison.services.digest import digest_now
from liaison.services.errors import DomainError
from liaison.ui.context import BotContext
from liaison.ui.errors import error_text


@staff_only
async def on_digest(update: Update, context: BotContext) -> None:
    """Plans the reader's digest at once; the sender delivers it with its chart."""
    actor = context.actor
    assert actor is not None
    try:
        await digest_now(context.db, actor, context.clock.now())
    except DomainError as error:
        await reply(update, error_text(error, context.t))
        return
    await reply(update, context.t("Preparing your digest; it arrives in a moment."))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("digest", on_digest))
