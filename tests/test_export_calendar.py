"""Calendars (.ics): opened with icalendar and checked against the schedule and deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from liaison.services.exports.calendar import calendar_for
from liaison.services.programmes.loading import load_programme
from liaison.storage.database import Database
from liaison.storage.models import Assignment, Extension, Session
from liaison.ui.calendar import calendar_bytes
from liaison.ui.i18n import translator
from tests.conftest import PROGRAMME_FILE, PROGRAMME_ID
from tests.history import build_history

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
ZH = translator("zh_CN")
EN = translator("en")


def events(ics: bytes) -> dict[str, Any]:
    calendar = Calendar.from_ical(ics)
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def zones(ics: bytes) -> set[str]:
    return {str(z["tzid"]) for z in Calendar.from_ical(ics).walk("VTIMEZONE")}


async def test_calendar_sessions_keep_their_own_zone_across_daylight_saving(
    db: Database, tmp_path: Path
) -> None:
    history = await build_history(db, tmp_path)
    ics = calendar_bytes(
        await calendar_for(db, PROGRAMME_ID, person_id=history.people["张伟"]), NOW
    )
    found = events(ics)
    async with db.read() as session:
        sessions = list(await session.scalars(select(Session)))
    assert {s.timezone for s in sessions} <= zones(ics)
    for s in sessions:
        event = found[f"session-{PROGRAMME_ID}-{s.key}@liaison"]
        start = event.decoded("dtstart")
        assert start == s.starts_at
        assert str(event["dtstart"].params["TZID"]) == s.timezone
        assert event.decoded("dtend") == s.ends_at
        assert str(event["summary"]) == s.title_zh
    before = found[f"session-{PROGRAMME_ID}-fri-before-dst@liaison"].decoded("dtstart")
    after = found[f"session-{PROGRAMME_ID}-mon-after-dst@liaison"].decoded("dtstart")
    assert (before.hour, after.hour) == (9, 9)
    assert before.utcoffset() != after.utcoffset()


async def test_calendar_for_a_cadre_has_their_own_deadlines_with_their_extension(
    db: Database, tmp_path: Path
) -> None:
    history = await build_history(db, tmp_path)
    li = history.people["李娜"]
    data = await calendar_for(db, PROGRAMME_ID, person_id=li)
    found = events(calendar_bytes(data, NOW))
    async with db.read() as session:
        assignments = list(await session.scalars(select(Assignment)))
        extension = await session.scalar(select(Extension).where(Extension.person_id == li))
    assert extension is not None
    deadlines = {uid: e for uid, e in found.items() if uid.startswith("deadline-")}
    assert set(deadlines) == {f"deadline-{PROGRAMME_ID}-{a.key}-p{li}@liaison" for a in assignments}
    for a in assignments:
        event = deadlines[f"deadline-{PROGRAMME_ID}-{a.key}-p{li}@liaison"]
        due = extension.due_at if a.id == extension.assignment_id else a.due_at
        day = due.astimezone(ZoneInfo(a.timezone)).date()
        assert event.decoded("dtstart") == day
        assert isinstance(event.decoded("dtstart"), date)
        assert str(event["summary"]) == ZH("Due: {title}").format(title=a.title_zh)
        assert event.walk("VALARM")


async def test_calendar_for_an_organizer_has_every_deadline_and_each_extension(
    db: Database, tmp_path: Path
) -> None:
    history = await build_history(db, tmp_path)
    data = await calendar_for(db, PROGRAMME_ID, person_id=history.people["Organizer Liu"])
    found = events(calendar_bytes(data, NOW))
    async with db.read() as session:
        keys = set(await session.scalars(select(Assignment.key)))
    assert {uid for uid in found if uid.startswith("deadline-")} == {
        f"deadline-{PROGRAMME_ID}-{key}@liaison" for key in keys
    }
    (extension,) = [e for uid, e in found.items() if uid.startswith("extension-")]
    assert str(extension["summary"]) == EN("Due: {title} ({name}, extended)").format(
        title="First stage report", name="李娜"
    )


async def test_calendar_after_a_programme_reload_keeps_the_same_uids(
    db: Database, tmp_path: Path
) -> None:
    history = await build_history(db, tmp_path)
    person = history.people["张伟"]
    first = events(calendar_bytes(await calendar_for(db, PROGRAMME_ID, person_id=person), NOW))
    await load_programme(db, PROGRAMME_FILE)
    again = events(calendar_bytes(await calendar_for(db, PROGRAMME_ID, person_id=person), NOW))
    assert set(first) == set(again)


async def test_calendar_by_name_of_the_whole_programme_uses_its_language(
    db: Database, tmp_path: Path
) -> None:
    await build_history(db, tmp_path)
    data = await calendar_for(db, PROGRAMME_ID, person_name="Wang")
    assert data.person_name == "Wang Fang" and data.locale == "en"
    whole = await calendar_for(db, PROGRAMME_ID)
    assert whole.person_name is None and whole.locale == "zh_CN"
    found = events(calendar_bytes(whole, NOW, "en"))
    assert "Introduction to the modern service industry" in {
        str(e["summary"]) for e in found.values()
    }
