"""Role checks at the door: organizers only, or staff (organizers and observers) to read.

The services check again (services/authorization.py): this only answers early and
politely, in the reader's language.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update

from liaison.handlers.replies import reply
from liaison.storage.enums import Role
from liaison.ui.context import BotContext

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


async def refuse(update: Update, text: str) -> None:
    """Answers a refused command or button where the person will see it."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)


def organizer_only(callback: Callback) -> Callback:
    @functools.wraps(callback)
    async def wrapper(update: Update, context: BotContext) -> None:
        if context.actor is None or context.actor.role is not Role.ORGANIZER:
            await refuse(update, context.t("Only organizers can do this."))
            return
        await callback(update, context)

    return wrapper


def staff_only(callback: Callback) -> Callback:
    """Reading the cohort's records: organizers and observers; cadres are refused."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: BotContext) -> None:
        if context.actor is None or not context.actor.is_staff:
            await refuse(update, context.t("Only organizers and observers can see this."))
            return
        await callback(update, context)

    return wrapper
