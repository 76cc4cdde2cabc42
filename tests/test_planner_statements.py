"""The planner's statements per tick do not grow with the number of cadres.

Each kind of tick (first, steady, reminder, escalation, closing missed runs) is played
with 100 cadres, then again from the same start with 1,000, in one programme, on SQLite
and PostgreSQL; the statements sent to the database are counted with SQLAlchemy's
``before_cursor_execute`` event and must be the same at both sizes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, func, insert, select, update

from liaison.services.planning import plan_all
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, PersonStatus, Role, RunState
from liaison.storage.models import AuditEvent, OutboxMessage, Person, SurveyRun

# After Tuesday's slot: only Friday's is planned.
ENROLLED = datetime(2026, 10, 29, tzinfo=UTC)
# Friday 30 October 2026, 20:00 in New York: the test programme's check-in slot.
SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
TICKS = {
    "first": SLOT - timedelta(minutes=30),
    "steady": SLOT - timedelta(minutes=29, seconds=30),
    "reminder": SLOT + timedelta(hours=3),
    "escalation": SLOT + timedelta(hours=20),
    "missed": SLOT + timedelta(hours=24),
}


async def add_cadres(db: Database, start: int, count: int) -> None:
    """Enrolled cadres in New York, by one multi-row insert."""
    rows: list[dict[str, Any]] = [
        {
            "programme_id": "test-prog",
            "name": f"Cadre {i}",
            "phone": f"+86137{i:08d}",
            "role": Role.CADRE,
            "status": PersonStatus.ACTIVE,
            "timezone": "America/New_York",
            "telegram_user_id": 700_000 + i,
            "telegram_chat_id": 700_000 + i,
            "enrolled_at": ENROLLED,
            "extra": {},
        }
        for i in range(start, start + count)
    ]
    async with db.transaction() as session:
        await session.execute(insert(Person), rows)


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def play(db: Database, tmp_path: Path) -> dict[str, int]:
    """Every kind of tick once, from a planner with nothing planned; statements of each."""
    counts: dict[str, int] = {}
    for name, now in TICKS.items():
        if name == "escalation":
            # The prompts went out: the runs wait for an answer.
            async with db.transaction() as session:
                await session.execute(update(SurveyRun).values(state=RunState.SENT))
        with counting(db) as statements:
            await plan_all(db, now, tmp_path)
        counts[name] = len(statements)
    return counts


async def reset(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(delete(OutboxMessage))
        await session.execute(delete(SurveyRun))
        await session.execute(delete(AuditEvent))


async def scalar(db: Database, statement: Any) -> int:
    async with db.read() as session:
        return int(await session.scalar(statement) or 0)


async def test_statements_per_tick_do_not_grow_with_the_cohort(
    seeded_db: Database, tmp_path: Path
) -> None:
    db = seeded_db
    async with db.transaction() as session:
        for index, organizer in enumerate(
            await session.scalars(select(Person).where(Person.role == Role.ORGANIZER))
        ):
            organizer.telegram_user_id = organizer.telegram_chat_id = 600_000 + index
            organizer.enrolled_at = ENROLLED
    await add_cadres(db, 0, 100)
    small = await play(db, tmp_path)
    # Everything was planned and followed up once for each of the 100.
    kinds = select(func.count()).select_from(OutboxMessage)
    prompts = await scalar(db, kinds.where(OutboxMessage.kind == OutboxKind.CHECKIN_PROMPT))
    assert prompts == 100
    assert await scalar(db, kinds.where(OutboxMessage.kind == OutboxKind.CHECKIN_REMINDER)) == 100
    escalated = select(func.count()).select_from(AuditEvent)
    assert await scalar(db, escalated.where(AuditEvent.action == "checkin.escalated")) == 100
    assert await scalar(db, escalated.where(AuditEvent.action == "checkin.missed")) == 100

    await reset(db)
    await add_cadres(db, 100, 900)
    large = await play(db, tmp_path)
    assert await scalar(db, escalated.where(AuditEvent.action == "checkin.escalated")) == 1000
    assert await scalar(db, escalated.where(AuditEvent.action == "checkin.missed")) == 1000
    assert large == small, (small, large)
    # And few: a tick is a handful of statements, not one per cadre.
    assert max(small.values()) < 40, small
