"""Menus only when they change: a start sets the menus whose recorded signature differs."""

from __future__ import annotations

from sqlalchemy import select, update

from liaison.bot.sandbox.fake_telegram import Fault
from liaison.bot.sandbox.fake_updates import FakeUser
from liaison.handlers.menu import all_signatures, menu_signature, set_all_menus
from liaison.services.menus import record_menus_as_read, stale_menus
from liaison.storage.database import Database
from liaison.storage.enums import Role
from liaison.storage.models import Person
from liaison.ui.callbacks import LanguageButton
from liaison.ui.i18n import translator
from tests.conftest import ORGANIZER_LIU, ZHANG, Harness

EN = translator("en")


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


async def test_a_change_during_the_start_pass_leaves_the_menu_to_the_next_start(
    harness: Harness,
) -> None:
    """The pass at start read Zhang as a Chinese-speaking cadre; meanwhile Zhang chose
    English and the handler recorded that menu, which the pass's call may have replaced."""
    await harness.enrol(ZHANG)
    async with harness.db.read() as session:
        zhang = await session.scalar(select(Person.id).where(Person.telegram_user_id == ZHANG.id))
    assert zhang is not None
    await harness.send(harness.updates.callback(ZHANG, LanguageButton("en").encode()))
    read_then = menu_signature(Role.CADRE, "zh_CN")
    await record_menus_as_read(harness.db, read_then, Role.CADRE, "zh_CN", [zhang])
    assert await signature_of(harness, ZHANG) is None
    assert await start(harness) == [ZHANG.id]
    menu = harness.request.sent("setMyCommands")[-1]["commands"]
    descriptions = {c["command"]: c["description"] for c in menu}
    assert descriptions["schedule"] == EN("Schedule: today, this week, next, or a date")
    # Unchanged rows are recorded as set.
    await record_menus_as_read(harness.db, "0" * 16, Role.CADRE, "en", [zhang])
    assert await signature_of(harness, ZHANG) == "0" * 16


async def test_stale_menus_query_on_each_backend(seeded_db: Database) -> None:
    """The one query and the recording, on SQLite and PostgreSQL alike."""
    async with seeded_db.transaction() as session:
        ids = list(await session.scalars(select(Person.id).order_by(Person.id).limit(3)))
        for n, person_id in enumerate(ids):
            await session.execute(
                update(Person)
                .where(Person.id == person_id)
                .values(telegram_chat_id=9000 + n, telegram_user_id=9000 + n)
            )
    signatures = all_signatures()
    stale = await stale_menus(seeded_db, signatures)
    assert sorted(m.person_id for m in stale) == ids
    for menu in stale:
        signature = signatures[(menu.role, menu.locale)]
        await record_menus_as_read(seeded_db, signature, menu.role, menu.locale, [menu.person_id])
    assert await stale_menus(seeded_db, signatures) == []
