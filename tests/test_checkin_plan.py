"""Planning check-ins on SQLite and PostgreSQL: local slots across DST, once per slot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.checkins.planning import plan_checkins, slot_instant
from liaison.services.checkins.views import open_run
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, PersonStatus, RunState
from liaison.storage.models import (
    Absence,
    AuditEvent,
    OutboxMessage,
    Person,
    Phase,
    Survey,
    SurveyRun,
)
from tests.conftest import ORGANIZER_CHEN, ZHANG, Harness

ENROLLED = datetime(2026, 10, 1, tzinfo=UTC)
FRIDAY_SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)  # Fri 30 Oct 20:00 EDT


@pytest.fixture
def db(seeded_db: Database) -> Database:
    """Every database test here starts with the test programme and roster loaded."""
    return seeded_db


async def enrol_cadres(db: Database) -> None:
    async with db.transaction() as session:
        people = await session.scalars(select(Person).where(Person.role == "cadre"))
        for index, person in enumerate(people):
            person.telegram_user_id = person.telegram_chat_id = 900 + index
            person.enrolled_at = ENROLLED


async def slots(db: Database) -> list[tuple[str, date, datetime]]:
    async with db.read() as session:
        rows = await session.execute(
            select(Person.name, SurveyRun.slot_date, SurveyRun.slot_at)
            .join(Person, Person.id == SurveyRun.person_id)
            .order_by(SurveyRun.slot_at, Person.name)
        )
        return [tuple(row) for row in rows]


async def count(db: Database, model: type) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def test_slot_in_the_spring_gap_moves_forward_and_the_autumn_hour_is_taken_once() -> None:
    assert slot_instant(date(2027, 3, 14), time(2, 30), "America/New_York") == datetime(
        2027, 3, 14, 7, 30, tzinfo=UTC
    )
    assert slot_instant(date(2026, 11, 1), time(1, 30), "America/New_York") == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )


async def test_tuesday_slot_after_the_november_change_is_20_local(db: Database) -> None:
    await enrol_cadres(db)
    await plan_checkins(db, datetime(2026, 10, 31, 0, 0, tzinfo=UTC))  # Fri 20:00 EDT
    await plan_checkins(db, datetime(2026, 11, 4, 1, 0, tzinfo=UTC))  # Tue 20:00 EST
    planned = await slots(db)
    new_york = [s for s in planned if s[0] in ("张伟", "Wang Fang")]
    assert {s[2] for s in new_york if s[1] == date(2026, 11, 3)} == {
        datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
    }
    # Friday before the change was 20:00 EDT, an hour earlier in UTC.
    assert {s[2] for s in new_york if s[1] == date(2026, 10, 30)} == {
        datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
    }


async def test_march_change_moves_the_utc_instant_not_the_local_time(db: Database) -> None:
    await enrol_cadres(db)
    await plan_checkins(db, datetime(2027, 3, 13, 1, 0, tzinfo=UTC))  # Fri 12 Mar 20:00 EST
    await plan_checkins(db, datetime(2027, 3, 17, 0, 0, tzinfo=UTC))  # Tue 16 Mar 20:00 EDT
    instants = {s[2] for s in await slots(db) if s[0] == "张伟"}
    assert datetime(2027, 3, 13, 1, 0, tzinfo=UTC) in instants
    assert datetime(2027, 3, 17, 0, 0, tzinfo=UTC) in instants


async def test_cadre_without_a_zone_uses_the_host_zone(db: Database) -> None:
    await enrol_cadres(db)
    await plan_checkins(db, datetime(2026, 10, 31, 0, 0, tzinfo=UTC))
    li = [s for s in await slots(db) if s[0] == "李娜"]
    assert li and li[-1][2] == datetime(2026, 10, 31, 0, 0, tzinfo=UTC)


async def test_tick_twice_or_racing_plans_each_run_once(db: Database) -> None:
    await enrol_cadres(db)
    now = datetime(2026, 10, 31, 0, 5, tzinfo=UTC)
    await plan_checkins(db, now)
    await plan_checkins(db, now)
    await asyncio.gather(plan_checkins(db, now), plan_checkins(db, now))
    # Three cadres: Tuesday's slot (already past its window, so recorded missed without a
    # prompt) and Friday's with its prompt and its reminder, each planned once however many
    # ticks ran.
    assert await count(db, SurveyRun) == 6
    assert await count(db, OutboxMessage) == 6


async def test_no_run_outside_the_surveys_phases_or_for_the_unreachable(db: Database) -> None:
    await enrol_cadres(db)
    async with db.transaction() as session:
        zhang = await session.scalar(select(Person).where(Person.name == "张伟"))
        assert zhang is not None
        zhang.unreachable_at = ENROLLED
    await plan_checkins(db, datetime(2026, 9, 16, 0, 5, tzinfo=UTC))  # domestic phase
    assert await count(db, SurveyRun) == 0
    await plan_checkins(db, datetime(2026, 10, 31, 0, 5, tzinfo=UTC))
    assert "张伟" not in {s[0] for s in await slots(db)}


async def test_reminder_and_escalation_are_planned_once(db: Database) -> None:
    await enrol_cadres(db)
    slot = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
    # The reminder is planned with the prompt, due at slot + remind_after.
    planned = await plan_checkins(db, slot)
    assert planned.reminders == 3
    async with db.read() as session:
        reminders = list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "checkin_reminder")
            )
        )
    assert {r.due_at for r in reminders} == {slot + timedelta(hours=3)}
    async with db.transaction() as session:
        for run in await session.scalars(select(SurveyRun)):
            run.state = RunState.SENT
    assert (await plan_checkins(db, slot + timedelta(hours=4))).reminders == 0
    late = await plan_checkins(db, slot + timedelta(hours=20))
    assert late.escalations == 3
    assert (await plan_checkins(db, slot + timedelta(hours=21))).escalations == 0
    closed = await plan_checkins(db, slot + timedelta(hours=24))
    assert closed.closed_as_missed == 3


async def _absent(session: AsyncSession, zhang: Person) -> None:
    session.add(
        Absence(person_id=zhang.id, starts_on=date(2026, 10, 30), ends_on=date(2026, 11, 2))
    )


async def _withdrawn(session: AsyncSession, zhang: Person) -> None:
    zhang.status = PersonStatus.WITHDRAWN


async def _unreachable(session: AsyncSession, zhang: Person) -> None:
    zhang.unreachable_at = FRIDAY_SLOT - timedelta(minutes=10)


async def _survey_off(session: AsyncSession, zhang: Person) -> None:
    await session.execute(update(Survey).values(active=False))


async def _survey_moved(session: AsyncSession, zhang: Person) -> None:
    await session.execute(update(Survey).values(schedule={"weekdays": ["tue"], "at": "20:00"}))


async def _phase_later(session: AsyncSession, zhang: Person) -> None:
    await session.execute(
        update(Phase).where(Phase.key == "theory").values(starts_on=date(2026, 11, 2))
    )


CHANGES: dict[str, tuple[Callable[[AsyncSession, Person], Awaitable[None]], str]] = {
    "absence": (_absent, "absent"),
    "withdrawal": (_withdrawn, "not_for_them"),
    "unreachable": (_unreachable, "unreachable"),
    "survey switched off": (_survey_off, "survey_inactive"),
    "survey edited": (_survey_moved, "slot_moved"),
    "phase dates changed": (_phase_later, "not_for_them"),
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_change_after_planning_drops_the_run_never_missed_nor_escalated(
    harness: Harness, change: str
) -> None:
    """Planned half an hour ahead; then something changes; at the slot no prompt goes out,
    the run is dropped with its reason, and it is neither missed nor escalated later."""
    h = harness
    for user in (ZHANG, ORGANIZER_CHEN):
        await h.enrol(user)
    h.clock.set(FRIDAY_SLOT - timedelta(minutes=30))
    await h.tick()
    async with h.db.read() as session:
        (run,) = await session.scalars(select(SurveyRun))
        prompt = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.CHECKIN_PROMPT)
        )
    assert prompt is not None and prompt.due_at == FRIDAY_SLOT and prompt.state == "pending"
    assert prompt.expires_at == run.closes_at
    sent_before = len(h.texts(ZHANG))
    apply, reason = CHANGES[change]
    async with h.db.transaction() as session:
        zhang = await session.scalar(select(Person).where(Person.telegram_user_id == ZHANG.id))
        assert zhang is not None
        await apply(session, zhang)
    for hours in (0, 3, 20, 24, 30):
        h.clock.set(FRIDAY_SLOT + timedelta(hours=hours))
        await h.tick()
    assert len(h.texts(ZHANG)) == sent_before
    async with h.db.read() as session:
        assert list(await session.scalars(select(SurveyRun))) == []
        actions = [
            (e.action, e.details.get("reason"))
            for e in await session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("checkin.%"))
            )
        ]
        outcomes = {
            kind: state
            for kind, state in await session.execute(
                select(OutboxMessage.kind, OutboxMessage.state)
            )
        }
    assert actions == [("checkin.dropped", reason)]
    assert OutboxKind.CHECKIN_ESCALATION not in outcomes
    assert outcomes[OutboxKind.CHECKIN_PROMPT] == "skipped"


async def test_a_zone_change_drops_the_planned_run_and_plans_the_new_slot(
    harness: Harness,
) -> None:
    h = harness
    await h.enrol(ZHANG)
    h.clock.set(FRIDAY_SLOT - timedelta(minutes=30))
    await h.tick()
    async with h.db.transaction() as session:
        await session.execute(
            update(Person)
            .where(Person.telegram_user_id == ZHANG.id)
            .values(timezone="America/Los_Angeles")
        )
    sent_before = len(h.texts(ZHANG))
    h.clock.set(FRIDAY_SLOT)
    await h.tick()  # the New York prompt is dropped, not sent
    assert len(h.texts(ZHANG)) == sent_before
    h.clock.set(FRIDAY_SLOT + timedelta(hours=2, minutes=30))
    await h.tick()  # 19:30 in Los Angeles: planned again, at 20:00 there
    h.clock.set(FRIDAY_SLOT + timedelta(hours=3))
    await h.tick()
    assert len(h.texts(ZHANG)) == sent_before + 1
    async with h.db.read() as session:
        (run,) = await session.scalars(select(SurveyRun))
    assert run.slot_at == FRIDAY_SLOT + timedelta(hours=3) and run.state == RunState.SENT
    assert run.timezone == "America/Los_Angeles"


async def test_a_run_planned_ahead_opens_at_its_slot_not_before(db: Database) -> None:
    await enrol_cadres(db)
    early = FRIDAY_SLOT - timedelta(minutes=30)
    await plan_checkins(db, early)
    async with db.read() as session:
        zhang = await session.scalar(select(Person).where(Person.name == "张伟"))
    assert zhang is not None
    # Friday's runs planned (beside Tuesday's, missed), their prompts waiting for the
    # slot; /checkin finds nothing to answer yet.
    assert await count(db, SurveyRun) == 6
    assert await open_run(db, zhang.id, early) is None
    found = await open_run(db, zhang.id, FRIDAY_SLOT)
    assert found is not None and found.slot_at == FRIDAY_SLOT
