"""/help: what this person may do, by role and enrolment."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CommandHandler

from liaison.handlers.menu import commands_for
from liaison.handlers.replies import reply
from liaison.services.people import Actor
from liaison.storage.enums import Role
from liaison.ui.context import BotContext
from liaison.ui.i18n import Translator
from liaison.ui.text import escape


def help_text(actor: Actor | None, t: Translator) -> str:
    if actor is None:
        intro = t(
            "This bot serves the participants and organizers of an overseas training "
            "programme. Send /start to link your account with your phone number or the code "
            "the organizers gave you."
        )
    elif actor.role is Role.CADRE:
        intro = t(
            "You are a participant. Times are shown in your time zone ({zone}) with Beijing "
            "time beside them."
        ).format(zone=escape(actor.timezone))
    elif actor.role is Role.ORGANIZER:
        intro = t("You are an organizer. You see the whole cohort's schedule.")
    else:
        intro = t("You are an observer, with read-only access.")
    lines = [intro, "", t("<b>Commands</b>")]
    role = actor.role if actor else None
    lines += [f"/{name} — {escape(t(description))}" for name, description in commands_for(role)]
    return "\n".join(lines)


async def on_help(update: Update, context: BotContext) -> None:
    """Lists the commands this person may use."""
    await reply(update, help_text(context.actor, context.t))


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("help", on_help))
