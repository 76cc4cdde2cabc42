"""The update path's short cuts keep every answer fresh.

The guard reads the actor as one Core row with the programme's stamp (its updated_at);
/schedule serves the programme's phases, audience rule and sessions from a per-process
cache keyed by that stamp. The stamp moves whenever the programme is reloaded or one of
its phases or sessions is written, so the next /schedule shows the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from liaison.services.people import Actor, actor_by_id, load_actor
from liaison.services.programmes.loading import load_programme
from liaison.services.schedule import ScheduleResult, View, schedule_for
from liaison.storage.database import Database
from liaison.storage.models import Person, Phase, Programme, Session

PROGRAMME_FILE = Path(__file__).parent / "data" / "programme.yaml"
FRIDAY = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)  # the week of 26 October, New York
OLD_TITLE = "Introduction to the modern service industry"


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Collects the SQL sent while inside."""
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)


async def _cadre(db: Database) -> Actor:
    async with db.transaction() as session:
        person = await session.get_one(Person, 1)
        person.telegram_user_id = 42
        person.timezone = "America/New_York"
    actor = await load_actor(db, 42)
    assert actor is not None
    return actor


async def _week(db: Database) -> tuple[Actor, ScheduleResult]:
    actor = await load_actor(db, 42)
    assert actor is not None
    return actor, await schedule_for(db, actor, FRIDAY, View.WEEK)


async def test_the_actor_is_one_statement_with_the_programme_stamp(seeded_db: Database) -> None:
    await _cadre(seeded_db)
    with statements(seeded_db) as sent:
        actor = await load_actor(seeded_db, 42)
    assert len(sent) == 1
    assert actor is not None
    async with seeded_db.read() as session:
        programme = await session.get_one(Programme, actor.programme_id)
        person = await session.get_one(Person, 1)
    assert actor.programme_stamp == programme.updated_at
    assert (actor.person_id, actor.name, actor.timezone) == (1, person.name, "America/New_York")
    assert actor.home_timezone == programme.home_timezone
    assert actor.programme_locale == programme.default_locale
    assert await actor_by_id(seeded_db, 1) == actor
    assert await load_actor(seeded_db, 999_999) is None


async def test_a_second_schedule_with_the_same_stamp_reads_nothing(seeded_db: Database) -> None:
    actor = await _cadre(seeded_db)
    first = await schedule_for(seeded_db, actor, FRIDAY, View.WEEK)
    with statements(seeded_db) as sent:
        again = await schedule_for(seeded_db, actor, FRIDAY, View.WEEK)
    assert sent == []
    assert again == first
    assert [s.key for s in first.sessions] == ["fri-before-dst", "sun-after-dst", "late-sunday"]


async def test_a_reloaded_programme_shows_at_the_next_schedule(
    seeded_db: Database, tmp_path: Path
) -> None:
    await _cadre(seeded_db)
    before_actor, before = await _week(seeded_db)
    assert OLD_TITLE in [s.title_en for s in before.sessions]
    edited = tmp_path / "programme.yaml"
    text = PROGRAMME_FILE.read_text(encoding="utf-8")
    assert OLD_TITLE in text and '"2026-11-01 10:00"' in text
    edited.write_text(
        text.replace(OLD_TITLE, "Service industry revised").replace(
            '"2026-11-01 10:00"', '"2026-11-03 10:00"'
        ),
        encoding="utf-8",
    )
    await load_programme(seeded_db, edited)

    after_actor, after = await _week(seeded_db)
    assert after_actor.programme_stamp != before_actor.programme_stamp
    titles = [s.title_en for s in after.sessions]
    assert "Service industry revised" in titles and OLD_TITLE not in titles
    # The volunteering moved to the next week.
    assert [s.key for s in after.sessions] == ["fri-before-dst", "late-sunday"]


async def test_a_session_or_phase_edited_in_place_shows_at_the_next_schedule(
    seeded_db: Database,
) -> None:
    await _cadre(seeded_db)
    before_actor, before = await _week(seeded_db)
    assert before.phase is not None and before.phase.key == "theory"
    async with seeded_db.transaction() as session:
        item = await session.scalar(select(Session).where(Session.key == "fri-before-dst"))
        assert item is not None
        item.place = "Room 101"
    middle_actor, middle = await _week(seeded_db)
    assert middle_actor.programme_stamp != before_actor.programme_stamp
    assert {s.key: s.place for s in middle.sessions}["fri-before-dst"] == "Room 101"

    async with seeded_db.transaction() as session:
        phase = await session.scalar(select(Phase).where(Phase.key == "theory"))
        assert phase is not None
        phase.title_en = "Theory, renamed"
    after_actor, after = await _week(seeded_db)
    assert after_actor.programme_stamp != middle_actor.programme_stamp
    assert after.phase is not None and after.phase.title_en == "Theory, renamed"


async def test_a_deleted_session_disappears_at_the_next_schedule(seeded_db: Database) -> None:
    await _cadre(seeded_db)
    _, before = await _week(seeded_db)
    assert "late-sunday" in [s.key for s in before.sessions]
    async with seeded_db.transaction() as session:
        item = await session.scalar(select(Session).where(Session.key == "late-sunday"))
        assert item is not None
        await session.delete(item)
    _, after = await _week(seeded_db)
    assert [s.key for s in after.sessions] == ["fri-before-dst", "sun-after-dst"]
