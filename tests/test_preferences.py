"""/language and /timezone change how this person is answered from then on."""

from __future__ import annotations

from sqlalchemy import select

from liaison.storage.models import Person
from liaison.ui.callbacks import LanguageButton, TimezoneButton
from liaison.ui.i18n import translator
from tests.conftest import ZHANG, Harness

ZH = translator("zh_CN")
EN = translator("en")


async def person(h: Harness) -> Person:
    async with h.db.read() as session:
        found = await session.scalar(select(Person).where(Person.telegram_user_id == ZHANG.id))
    assert found is not None
    return found


async def test_language_switch_answers_in_the_new_language(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/language"))
    buttons = harness.request.sent()[-1]["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == ["lg1:zh_CN", "lg1:en"]
    await harness.send(harness.updates.callback(ZHANG, LanguageButton("en").encode()))
    assert harness.request.sent("editMessageText")[-1]["text"] == EN(
        "Language set to {language}."
    ).format(language="English")
    assert (await person(harness)).locale == "en"
    # The menu follows the language, and later answers are in English.
    menu = harness.request.sent("setMyCommands")[-1]
    descriptions = {c["command"]: c["description"] for c in menu["commands"]}
    assert descriptions["schedule"] == EN("Schedule: today, this week, next, or a date")
    await harness.send(harness.updates.command(ZHANG, "/schedule week"))
    assert "Community volunteering" in harness.last_text(ZHANG)


async def test_unsupported_language_button_is_refused(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.callback(ZHANG, "lg1:fr"))
    assert harness.request.sent("answerCallbackQuery")[-1]["text"] == ZH(
        "This button is no longer valid."
    )
    assert (await person(harness)).locale == "zh_CN"


async def test_timezone_argument_is_checked_against_the_tz_database(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/timezone america/chicago"))
    assert (await person(harness)).timezone == "America/Chicago"
    assert harness.last_text(ZHANG).startswith(
        ZH("Time zone set to {zone}. Your local time now: {now}.").split("{zone}")[0]
    )
    assert "America/Chicago" in harness.last_text(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/timezone Mars/Olympus"))
    assert harness.last_text(ZHANG) == ZH(
        "{zone} is not a time zone I know. Use a name from the tz database, "
        "such as America/New_York or Asia/Shanghai."
    ).format(zone="Mars/Olympus")
    assert (await person(harness)).timezone == "America/Chicago"


async def test_timezone_keyboard_offers_likely_zones_and_saves_the_choice(
    harness: Harness,
) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/timezone"))
    rows = harness.request.sent()[-1]["reply_markup"]["inline_keyboard"]
    offered = [button["callback_data"] for row in rows for button in row]
    assert offered[:2] == ["tz1:America/New_York", "tz1:Asia/Shanghai"]
    assert "tz1:America/Los_Angeles" in offered
    await harness.send(
        harness.updates.callback(ZHANG, TimezoneButton("America/Los_Angeles").encode())
    )
    assert (await person(harness)).timezone == "America/Los_Angeles"
    await harness.send(harness.updates.command(ZHANG, "/schedule"))
    # 12:00 UTC on 30 October is 05:00 in Los Angeles: still 30 October there.
    assert ZH.day((harness.clock.now()).date()) in harness.last_text(ZHANG)


async def test_new_timezone_moves_the_schedule(harness: Harness) -> None:
    await harness.enrol(ZHANG)
    await harness.send(harness.updates.command(ZHANG, "/timezone America/Los_Angeles"))
    await harness.send(harness.updates.command(ZHANG, "/schedule"))
    # The 09:00 Eastern lecture is at 06:00 Pacific.
    assert "06:00–08:30" in harness.last_text(ZHANG)
