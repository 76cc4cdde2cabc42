"""Checks at the door: the end of access; organizers only, or staff (organizers and
observers) to read.

The services check again (services/authorization.py): these only answer early and
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
from liaison.ui.errors import access_ended_text

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


async def refuse_access_ended(update: Update, context: BotContext) -> None:
    """Tells a withdrawn person, politely and in their language, that access has ended."""
    text = access_ended_text(context.t)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None:
        await reply(update, text)


async def refuse(update: Update, text: str) -> None:
    """Answers a refused command or button where the person will see it."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await reply(update, text)


def organizer_only(callback: Callback) -> Callback:
    """Lets organizers through; everyone else hears that only organizers can do this."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: BotContext) -> None:
        if context.actor is None or context.actor.role is not Role.ORGANIZER:
            await refuse(update, context.t("Only organizers can do this."))
            return
        await callback(update, context)

    wrapper.organizer_only = True  # type: ignore[attr-defined]
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
