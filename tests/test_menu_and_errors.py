"""Command menus per role and language, /help, and the error handler."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import update
from telegram.ext import CommandHandler

from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, Fault
from liaison.handlers.menu import set_all_menus
from liaison.storage.models import Person
from liaison.ui.i18n import translator
from tests.conftest import ORGANIZER_LIU, ZHANG, Harness

ZH = translator("zh_CN")
EN = translator("en")


async def test_menus_are_set_per_language_and_per_enrolled_person(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.enrol(ORGANIZER_LIU)
    async with harness.db.transaction() as session:  # none recorded yet: all are set
        await session.execute(update(Person).values(menu_signature=None))
    harness.request.clear()
    await set_all_menus(harness.app.bot, harness.db, "zh_CN")
    calls = harness.request.sent("setMyCommands")
    scopes = [
        (c["scope"]["type"], c.get("language_code"), c["scope"].get("chat_id")) for c in calls
    ]
    assert ("default", None, None) in scopes
    assert ("default", "zh", None) in scopes
    assert ("default", "en", None) in scopes
    assert ("chat", None, ZHANG.id) in scopes
    liu = next(c for c in calls if c["scope"].get("chat_id") == ORGANIZER_LIU.id)
    # The English-speaking organizer's menu is in English.
    assert liu["commands"][0]["description"] == EN("Schedule: today, this week, next, or a date")
    guest = next(c for c in calls if c.get("language_code") == "en")
    assert [c["command"] for c in guest["commands"]] == ["start", "help"]


async def test_menu_failure_is_logged_and_does_not_stop(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.enrol(ZHANG)
    harness.request.fail(Fault.SERVER_ERROR, method="setMyCommands", times=10)
    await set_all_menus(harness.app.bot, harness.db, "zh_CN")
    assert "could not set" in caplog.text


async def test_help_lists_what_the_role_may_do(harness: Harness) -> None:
    await harness.enrol(ORGANIZER_LIU)
    await harness.send(harness.updates.command(ORGANIZER_LIU, "/help"))
    text = harness.last_text(ORGANIZER_LIU)
    assert EN("You are an organizer. You see the whole cohort's schedule.") in text
    assert "/schedule" in text and "/timezone" in text


async def test_unexpected_error_apologises_in_the_users_language_and_logs_no_token(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    from liaison.bot.logging_setup import RedactingFormatter

    await harness.enrol(ZHANG)

    async def explode(update: Any, context: Any) -> None:
        raise RuntimeError(f"boom while calling https://api.telegram.org/bot{FAKE_TOKEN}/x")

    harness.app.add_handler(CommandHandler("explode", explode), group=1)
    await harness.send(harness.updates.command(ZHANG, "/explode"), expect_error=True)
    assert harness.last_text(ZHANG) == ZH(
        "Sorry, something went wrong on our side. Please try again in a minute."
    )
    formatter = RedactingFormatter("%(message)s", (FAKE_TOKEN,))
    records = [r for r in caplog.records if r.name == "liaison.bot.error_handler"]
    assert records, "the error was not logged"
    rendered = "\n".join(formatter.format(r) for r in records)
    assert "boom" in rendered
    assert FAKE_TOKEN not in rendered
    assert FAKE_TOKEN.split(":")[1] not in rendered


def test_redaction_removes_token_shaped_text_without_being_told() -> None:
    from liaison.bot.logging_setup import redact

    assert "AAE" not in redact("GET /bot123456789:AAEabcdefghijklmnopqrstuvwxyz012345/getMe")


def test_httpx_request_logging_is_silenced() -> None:
    from liaison.bot.logging_setup import configure_logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("DEBUG", (FAKE_TOKEN,))
    try:
        assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
