"""The command menu: one list per role and language; what each person may do."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from functools import cache

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from liaison.services.menus import record_menus, record_menus_as_read, stale_menus
from liaison.services.people import SUPPORTED_LOCALES
from liaison.storage.database import Database
from liaison.storage.enums import Role
from liaison.ui.i18n import N_, Translator, translator

log = logging.getLogger(__name__)
# Menus set at start are recorded in batches: a stop loses at most this many records.
RECORD_EVERY = 100
# The start-up pass sets at most this many menus a second: replies share the rate limiter
# with it, and after an upgrade it may have every enrolled person's menu to set (10,000
# at 25/s would hold replies back for minutes; at 5/s they keep four fifths of the budget).
MENUS_PER_SECOND = 5.0

# (command, description) in the order shown; descriptions are translated per reader.
GUEST = [
    ("start", N_("Link your Telegram account to the programme")),
    ("help", N_("What this bot does")),
]
COMMON = [
    ("schedule", N_("Schedule: today, this week, next, or a date")),
    ("next", N_("Your next sessions")),
    ("language", N_("Change the language")),
    ("timezone", N_("Change your time zone")),
    ("help", N_("What you can do here")),
]
CADRE = [
    ("checkin", N_("Answer the open check-in now")),
    ("report", N_("Submit a stage report")),
    ("paper", N_("Submit a research paper")),
    ("research", N_("Submit pre-departure research")),
    ("submissions", N_("What you have submitted, with feedback")),
    ("calendar", N_("Your schedule and deadlines for your phone's calendar")),
    *COMMON[:-1],
    ("cancel", N_("Stop what you are doing")),
    COMMON[-1],
]
CANDIDATES = ("candidates", N_("Candidates ranked with their results: [TEST]"))
# What staff read: the cohort, a person's record, the digest.
STAFF = [
    ("digest", N_("The daily digest, now")),
    ("cohort", N_("The cohort at a glance")),
    ("person", N_("A person's dossier: NAME")),
]
ORGANIZER = [
    *COMMON[:-1],
    *STAFF,
    ("review", N_("Review and score submissions: [ASSIGNMENT]")),
    ("broadcast", N_("Send a notice to cadres or staff")),
    ("broadcasts", N_("Recent notices and who acknowledged them")),
    ("absent", N_("Excuse a participant from check-ins: NAME FROM TO")),
    ("extend", N_("Give a participant more time: NAME ASSIGNMENT DATE")),
    ("note", N_("Record notes of a call: RUN TEXT")),
    ("result", N_("Record a test result: NAME TEST VALUE")),
    CANDIDATES,
    ("select", N_("Make the selection, candidate by candidate: [NAME]")),
    ("export", N_("Export the records: workbook, files, calendar")),
    ("calendar", N_("The schedule and all deadlines for your calendar")),
    ("cancel", N_("Stop what you are doing")),
    COMMON[-1],
]
OBSERVER = [
    *COMMON[:-1],
    CANDIDATES,
    ("calendar", N_("The schedule and all deadlines for your calendar")),
    COMMON[-1],
]
BY_ROLE: dict[Role, list[tuple[str, str]]] = {
    Role.CADRE: CADRE,
    Role.ORGANIZER: ORGANIZER,
    Role.OBSERVER: [*OBSERVER[:-1], *STAFF, OBSERVER[-1]],
}


def commands_for(role: Role | None) -> list[tuple[str, str]]:
    return GUEST if role is None else BY_ROLE[role]


def bot_commands(role: Role | None, t: Translator) -> list[BotCommand]:
    return [BotCommand(name, t(description)) for name, description in commands_for(role)]


@cache
def menu_signature(role: Role, locale: str) -> str:
    """A short hash of exactly what Telegram is sent for this menu: a changed command,
    text or translation changes it, so the next start sets that menu again."""
    t = translator(locale)
    shown = "\n".join(f"{name}\t{t(description)}" for name, description in commands_for(role))
    return hashlib.sha256(f"{t.locale}\n{shown}".encode()).hexdigest()[:16]


def all_signatures() -> dict[tuple[Role, str], str]:
    pairs = [(role, locale) for role in Role for locale in SUPPORTED_LOCALES]
    return {pair: menu_signature(*pair) for pair in pairs}


async def set_menu_for_chat(
    bot: Bot,
    chat_id: int,
    role: Role,
    locale: str,
    *,
    db: Database | None = None,
    person_id: int | None = None,
) -> bool:
    """Sets one person's menu (and records it when ``db`` and ``person_id`` are given);
    a failure is logged and never stops the caller."""
    try:
        await bot.set_my_commands(
            bot_commands(role, translator(locale)), scope=BotCommandScopeChat(chat_id)
        )
    except TelegramError as exc:
        log.warning("could not set the command menu for chat %s: %s", chat_id, exc)
        return False
    if db is not None and person_id is not None:
        await record_menus(db, menu_signature(role, locale), [person_id])
    return True


async def set_all_menus(bot: Bot, db: Database, default_locale: str) -> None:
    """Sets the guest menu per language, then the menus of the enrolled people whose
    recorded signature differs from their role's and language's (none at a plain restart)."""
    try:
        await bot.set_my_commands(
            bot_commands(None, translator(default_locale)), scope=BotCommandScopeDefault()
        )
        for locale in SUPPORTED_LOCALES:
            await bot.set_my_commands(
                bot_commands(None, translator(locale)),
                scope=BotCommandScopeDefault(),
                language_code=locale.split("_")[0],
            )
    except TelegramError as exc:
        log.warning("could not set the default command menu: %s", exc)
    stale = await stale_menus(db, all_signatures())
    if stale:
        log.info("setting %s command menu(s) that changed", len(stale))
    done: dict[tuple[Role, str], list[int]] = defaultdict(list)
    for index, menu in enumerate(stale, start=1):
        if index > 1:
            await asyncio.sleep(1 / MENUS_PER_SECOND)
        if await set_menu_for_chat(bot, menu.chat_id, menu.role, menu.locale):
            done[(menu.role, menu.locale)].append(menu.person_id)
        if index % RECORD_EVERY == 0 or index == len(stale):
            for (role, locale), people in done.items():
                await record_menus_as_read(db, menu_signature(role, locale), role, locale, people)
            done.clear()
