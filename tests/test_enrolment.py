"""Enrolment through the bot: a shared contact or a one-time code, and every refusal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from liaison.services.enrolment import issue_codes
from liaison.storage.models import AuditEvent, Person
from liaison.ui.i18n import translator
from tests.conftest import LI, PHONES, PROGRAMME_ID, STRANGER, WANG, ZHANG, Harness

ZH = translator("zh_CN")
EN = translator("en")


async def person_of(h: Harness, telegram_user_id: int) -> Person | None:
    async with h.db.read() as session:
        # Through a variable: with the return type as context, mypy picks the overload
        # of AsyncSession.scalar that returns Any.
        person = await session.scalar(
            select(Person).where(Person.telegram_user_id == telegram_user_id)
        )
        return person


async def refusals(h: Harness) -> list[str]:
    async with h.db.read() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == "enrolment.refused")
        )
        return [row.details["reason"] for row in rows]


async def test_start_for_a_stranger_offers_the_contact_button(harness: Harness) -> None:
    await harness.send(harness.updates.command(STRANGER, "/start"))
    call = harness.request.sent()[-1]
    keyboard = call["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True
    assert keyboard[0][0]["text"] == EN("📱 Share my phone number")


async def test_own_contact_on_roster_links_the_account(harness: Harness) -> None:
    await harness.send(
        harness.updates.contact(ZHANG, "+86 138 0000 1001", contact_user_id=ZHANG.id)
    )
    person = await person_of(harness, ZHANG.id)
    assert person is not None and person.name == "张伟"
    assert person.telegram_chat_id == ZHANG.id
    assert person.enrolled_at == harness.clock.now()
    welcome = ZH("Welcome, {name}! Your account is now linked to the programme.").format(
        name="张伟"
    )
    assert welcome in harness.texts(ZHANG)
    # The contact keyboard is removed and the person's own command menu is set.
    assert any(c.get("reply_markup") == {"remove_keyboard": True} for c in harness.request.sent())
    menus = harness.request.sent("setMyCommands")
    assert menus[-1]["scope"] == {"type": "chat", "chat_id": ZHANG.id}
    assert {c["command"] for c in menus[-1]["commands"]} >= {"schedule", "next", "timezone"}


async def test_contact_phone_matches_in_any_format(harness: Harness) -> None:
    # The roster wrote "+86 138-0000-1002"; Telegram sends bare digits with the country code.
    await harness.send(harness.updates.contact(LI, "8613800001002", contact_user_id=LI.id))
    assert await person_of(harness, LI.id) is not None


async def test_someone_elses_contact_is_refused_and_audited(harness: Harness) -> None:
    await harness.send(
        harness.updates.contact(STRANGER, PHONES[ZHANG.id], contact_user_id=ZHANG.id)
    )
    assert await person_of(harness, ZHANG.id) is None
    assert await person_of(harness, STRANGER.id) is None
    assert harness.last_text(STRANGER) == EN(
        "That is someone else's contact. Please use the button below to share your own "
        "phone number."
    )
    assert await refusals(harness) == ["contact_not_own"]


async def test_contact_without_user_id_is_refused(harness: Harness) -> None:
    await harness.send(harness.updates.contact(STRANGER, PHONES[ZHANG.id], contact_user_id=None))
    assert await person_of(harness, STRANGER.id) is None
    assert await refusals(harness) == ["contact_not_own"]


async def test_unknown_phone_is_refused_politely_and_audited(harness: Harness) -> None:
    await harness.send(
        harness.updates.contact(STRANGER, "+1 919 555 0100", contact_user_id=STRANGER.id)
    )
    assert harness.last_text(STRANGER) == EN(
        "Sorry, this phone number is not on the programme's roster. If you are a "
        "participant, ask the organizers for a one-time code and send /start CODE."
    )
    assert await refusals(harness) == ["phone_not_on_roster"]


async def test_phone_already_linked_to_another_account_is_refused(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    impostor = STRANGER
    await harness.send(
        harness.updates.contact(impostor, PHONES[ZHANG.id], contact_user_id=impostor.id)
    )
    assert await person_of(harness, impostor.id) is None
    assert await refusals(harness) == ["already_enrolled"]


async def test_second_contact_from_an_enrolled_user_welcomes_back(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.enrol(ZHANG)
    assert ZH("Welcome back, {name}.").format(name="张伟") in harness.texts(ZHANG)


async def _code_for(h: Harness, name: str, valid_for: timedelta = timedelta(days=14)) -> str:
    issued = await issue_codes(h.db, h.clock, PROGRAMME_ID, names=[name], valid_for=valid_for)
    return issued[0].code


async def test_start_with_a_code_links_the_account(harness: Harness) -> None:
    code = await _code_for(harness, "Wang Fang")
    await harness.send(harness.updates.command(WANG, f"/start {code}"))
    person = await person_of(harness, WANG.id)
    assert person is not None and person.name == "Wang Fang"
    # Wang's roster locale is English, so the welcome is in English.
    assert EN("Welcome, {name}! Your account is now linked to the programme.").format(
        name="Wang Fang"
    ) in harness.texts(WANG)


async def test_code_in_a_deep_link_is_read_case_insensitively(harness: Harness) -> None:
    code = await _code_for(harness, "李娜")
    await harness.send(
        harness.updates.command(LI, f"/start {code.lower()}", bot_username="liaison_test_bot")
    )
    assert await person_of(harness, LI.id) is not None


async def test_used_code_is_refused(harness: Harness) -> None:
    code = await _code_for(harness, "李娜")
    await harness.send(harness.updates.command(LI, f"/start {code}"))
    await harness.send(harness.updates.command(STRANGER, f"/start {code}"))
    assert harness.last_text(STRANGER) == EN(
        "This code has already been used. Please ask the organizers for a new one."
    )
    assert await person_of(harness, STRANGER.id) is None
    assert await refusals(harness) == ["code_used"]


async def test_expired_code_is_refused(harness: Harness) -> None:
    code = await _code_for(harness, "李娜", valid_for=timedelta(hours=1))
    harness.clock.advance(timedelta(hours=2))
    await harness.send(harness.updates.command(LI, f"/start {code}"))
    assert harness.last_text(LI) == ZH(
        "This code has expired. Please ask the organizers for a new one."
    )
    assert await person_of(harness, LI.id) is None
    assert await refusals(harness) == ["code_expired"]


async def test_wrong_code_is_refused(harness: Harness) -> None:
    await harness.send(harness.updates.command(STRANGER, "/start NOTACODE99"))
    assert harness.last_text(STRANGER) == EN(
        "This code is not valid. Please check it and try again, or ask the organizers."
    )
    assert await refusals(harness) == ["code_invalid"]


async def test_reissued_code_replaces_the_old_one(harness: Harness) -> None:
    old = await _code_for(harness, "李娜")
    new = await _code_for(harness, "李娜")
    await harness.send(harness.updates.command(LI, f"/start {old}"))
    assert await person_of(harness, LI.id) is None
    await harness.send(harness.updates.command(LI, f"/start {new}"))
    assert await person_of(harness, LI.id) is not None
