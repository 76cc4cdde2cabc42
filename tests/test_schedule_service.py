"""Local days and weeks as UTC ranges, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from liaison.services.people import load_actor
from liaison.services.schedule import View, local_day_bounds, schedule_for
from liaison.storage.database import Database
from liaison.storage.models import Person


@pytest.fixture
def db(seeded_db: Database) -> Database:
    """Every database test here starts with the test programme and roster loaded."""
    return seeded_db


def test_day_of_the_november_change_lasts_25_hours() -> None:
    start, end = local_day_bounds(date(2026, 11, 1), "America/New_York")
    assert start == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=25)


def test_day_of_the_march_change_lasts_23_hours() -> None:
    start, end = local_day_bounds(date(2027, 3, 14), "America/New_York")
    assert end - start == timedelta(hours=23)


async def _cadre(db: Database, zone: str) -> None:
    async with db.transaction() as session:
        person = await session.get_one(Person, 1)
        person.telegram_user_id = 42
        person.timezone = zone


async def test_week_in_new_york_includes_late_sunday_after_the_change(db: Database) -> None:
    await _cadre(db, "America/New_York")
    actor = await load_actor(db, 42)
    assert actor is not None
    now = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)
    result = await schedule_for(db, actor, now, View.WEEK)
    assert (result.first_day, result.last_day) == (date(2026, 10, 26), date(2026, 11, 1))
    assert [s.key for s in result.sessions] == ["fri-before-dst", "sun-after-dst", "late-sunday"]
    assert result.phase is not None and result.phase.key == "theory"


async def test_same_instant_is_another_week_in_beijing(db: Database) -> None:
    await _cadre(db, "Asia/Shanghai")
    actor = await load_actor(db, 42)
    assert actor is not None
    result = await schedule_for(db, actor, datetime(2026, 11, 2, 2, 0, tzinfo=UTC), View.WEEK)
    # Monday 10:00 in Beijing: the week of 2 November, which holds Sunday 23:30 New York.
    assert result.first_day == date(2026, 11, 2)
    assert [s.key for s in result.sessions] == ["late-sunday", "mon-after-dst"]


async def test_next_lists_only_sessions_not_yet_over(db: Database) -> None:
    await _cadre(db, "America/New_York")
    actor = await load_actor(db, 42)
    assert actor is not None
    now = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)  # during the Friday lecture
    result = await schedule_for(db, actor, now, View.NEXT)
    assert [s.key for s in result.sessions][:2] == ["fri-before-dst", "sun-after-dst"]
    assert len(result.sessions) == 5
