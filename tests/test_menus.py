"""Menus only when they change: a start sets the menus whose recorded signature differs."""

from __future__ import annotations

from sqlalchemy import select, update

from liaison.bot.sandbox.fake_telegram import Fault
from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.handlers.menu import menu_signature, set_all_menus
from liaison.storage.enums import Role
from liaison.storage.models import Person
from liaison.ui.callbacks import LanguageButton
from tests.conftest import ORGANIZER_LIU, ZHANG, Harness


def chat_menus(h: Harness) -> list[int]:
    """The chats whose own menu was set since the last clear, one entry per call."""
    return [
        int(call["scope"]["chat_id"])
        for call in h.request.sent("setMyCommands")
        if call["scope"]["type"] == "chat"
    ]


async def start(h: Harness) -> list[int]:
    """What a start does to the menus; returns the chats whose menu it set."""
    h.request.clear()
    await set_all_menus(h.app.bot, h.db, "zh_CN")
    return chat_menus(h)


async def forget_menus(h: Harness) -> None:
    """As a database migrated to 0009 finds everyone: no menu recorded yet."""
    async with h.db.transaction() as session:
        await session.execute(update(Person).values(menu_signature=None))


async def signature_of(h: Harness, user: FakeUser) -> str | None:
    async with h.db.read() as session:
        return await session.scalar(
            select(Person.menu_signature).where(Person.telegram_user_id == user.id)
        )


async def test_a_second_start_sets_no_menu(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.enrol(ORGANIZER_LIU)
    await forget_menus(harness)
    assert sorted(await start(harness)) == sorted([ZHANG.id, ORGANIZER_LIU.id])
    assert await start(harness) == []
    # The guest menus (one call per language, no row to record them on) are still sent.
    assert len(harness.request.sent("setMyCommands")) == 3


async def test_enrolment_records_the_menu_it_sets(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    assert chat_menus(harness) == [ZHANG.id]
    assert await signature_of(harness, ZHANG) == menu_signature(Role.CADRE, "zh_CN")
    assert await start(harness) == []


async def test_a_changed_role_sets_exactly_that_persons_menu_once(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.enrol(ORGANIZER_LIU)
    assert await start(harness) == []
    async with harness.db.transaction() as session:  # as a roster import would
        await session.execute(
            update(Person).where(Person.telegram_user_id == ZHANG.id).values(role=Role.OBSERVER)
        )
    assert await start(harness) == [ZHANG.id]
    commands = {c["command"] for c in harness.request.sent("setMyCommands")[-1]["commands"]}
    assert "cohort" in commands and "checkin" not in commands
    assert await signature_of(harness, ZHANG) == menu_signature(Role.OBSERVER, "zh_CN")
    assert await start(harness) == []


async def test_a_changed_locale_sets_exactly_that_persons_menu_once(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.enrol(ORGANIZER_LIU)
    harness.request.clear()
    await harness.send(harness.updates.callback(ZHANG, LanguageButton("en").encode()))
    assert chat_menus(harness) == [ZHANG.id]  # by the handler, recorded there
    assert await signature_of(harness, ZHANG) == menu_signature(Role.CADRE, "en")
    assert await start(harness) == []
    async with harness.db.transaction() as session:  # changed behind the bot's back
        await session.execute(
            update(Person).where(Person.telegram_user_id == ZHANG.id).values(locale="zh_CN")
        )
    assert await start(harness) == [ZHANG.id]
    assert await start(harness) == []


async def test_a_menu_that_failed_is_tried_again_at_the_next_start(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await forget_menus(harness)
    # The first guest menu fails (the others are skipped with it), then Zhang's.
    harness.request.fail(Fault.SERVER_ERROR, method="setMyCommands", times=2)
    await start(harness)
    assert await signature_of(harness, ZHANG) is None
    assert await start(harness) == [ZHANG.id]
    assert await signature_of(harness, ZHANG) is not None


async def test_the_signature_follows_the_commands_and_the_language() -> None:
    signatures = {menu_signature(role, locale) for role in Role for locale in ("zh_CN", "en")}
    assert len(signatures) == len(Role) * 2
    assert all(len(s) == 16 for s in signatures)
