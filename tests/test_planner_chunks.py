"""The planner handles its cohort in chunks (services/checkins/planning.py, CHUNK): the
outcome must be the same as in one pass.

The same ticks are played from the same start with chunks of 4 runs and with chunks
larger than the cohort: the runs, the outbox rows and the audit rows must match, with
run ids (which differ between the two plays) replaced by the run's person and day.
Deadline reminders already planned are not inserted again by the next tick.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, insert, select, update

from liaison.services.checkins import planning
from liaison.services.planning import plan_all
from liaison.services.submissions.reminders import plan_deadlines
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, PersonStatus, Role, RunState
from liaison.storage.models import Absence, AuditEvent, OutboxMessage, Person, SurveyRun

ENROLLED = datetime(2026, 10, 29, tzinfo=UTC)
# Friday 30 October 2026, 20:00 in New York: the test programme's check-in slot.
SLOT = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
CADRES = 23


async def add_cadres(db: Database) -> list[int]:
    async with db.transaction() as session:
        for index, organizer in enumerate(
            await session.scalars(select(Person).where(Person.role == Role.ORGANIZER))
        ):
            organizer.telegram_user_id = organizer.telegram_chat_id = 600_000 + index
            organizer.enrolled_at = ENROLLED
        await session.execute(
            insert(Person),
            [
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
                for i in range(CADRES)
            ],
        )
        ids = list(
            await session.scalars(
                select(Person.id).where(Person.telegram_user_id >= 700_000).order_by(Person.id)
            )
        )
        # Two away on the slot's day: never planned.
        for person_id in ids[:2]:
            session.add(
                Absence(
                    person_id=person_id, starts_on=date(2026, 10, 30), ends_on=date(2026, 11, 1)
                )
            )
    return ids


async def play(db: Database, tmp_path: Path, cadres: list[int]) -> dict[str, list[Any]]:
    """First tick; then some prompted, some withdrawn; escalation; missed. The state after."""
    async with db.transaction() as session:
        await session.execute(delete(OutboxMessage))
        await session.execute(delete(SurveyRun))
        await session.execute(delete(AuditEvent))
        await session.execute(
            update(Person).where(Person.id.in_(cadres)).values(status=PersonStatus.ACTIVE)
        )
    await plan_all(db, SLOT - timedelta(minutes=30), tmp_path)
    async with db.transaction() as session:
        # All prompted but the last five; three withdrawn, one of them never prompted.
        await session.execute(
            update(SurveyRun)
            .where(SurveyRun.person_id.in_(cadres[:-5]))
            .values(state=RunState.SENT)
        )
        await session.execute(
            update(Person)
            .where(Person.id.in_([cadres[3], cadres[4], cadres[-1]]))
            .values(status=PersonStatus.WITHDRAWN)
        )
    await plan_all(db, SLOT + timedelta(hours=20), tmp_path)
    await plan_all(db, SLOT + timedelta(hours=24), tmp_path)
    async with db.read() as session:
        runs = (
            await session.execute(
                select(
                    SurveyRun.id,
                    SurveyRun.person_id,
                    SurveyRun.slot_date,
                    SurveyRun.state,
                    SurveyRun.escalated_at,
                    SurveyRun.escalate_at,
                )
            )
        ).all()
        names = {run.id: f"{run.person_id}/{run.slot_date}" for run in runs}
        outbox = (
            await session.execute(
                select(
                    OutboxMessage.unique_key,
                    OutboxMessage.person_id,
                    OutboxMessage.kind,
                    OutboxMessage.payload,
                    OutboxMessage.due_at,
                    OutboxMessage.expires_at,
                )
            )
        ).all()
        audits = (
            await session.execute(
                select(AuditEvent.action, AuditEvent.actor_person_id, AuditEvent.details)
            )
        ).all()
    dropped = {a.details["run_id"] for a in audits if a.action == "checkin.dropped"}

    def run_name(run_id: int) -> str:
        return names.get(run_id, f"dropped {run_id in dropped}")

    def key(text: str) -> str:
        parts = text.split(":")
        if parts[0] == "checkin":
            parts[1] = run_name(int(parts[1]))
        return ":".join(parts)

    def details(value: dict[str, Any]) -> dict[str, Any]:
        return {k: run_name(v) if k == "run_id" else v for k, v in value.items()}

    return {
        "runs": sorted(
            (r.person_id, r.slot_date, r.state, r.escalated_at, r.escalate_at) for r in runs
        ),
        "outbox": sorted(
            (
                key(o.unique_key),
                o.person_id,
                o.kind,
                str(details(o.payload)),
                o.due_at,
                o.expires_at,
            )
            for o in outbox
        ),
        "audits": sorted((a.action, a.actor_person_id, str(details(a.details))) for a in audits),
    }


async def test_chunks_give_the_same_result_as_one_pass(
    seeded_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cadres = await add_cadres(seeded_db)
    one_pass = await play(seeded_db, tmp_path, cadres)
    monkeypatch.setattr(planning, "CHUNK", 4)
    chunked = await play(seeded_db, tmp_path, cadres)
    assert chunked == one_pass
    # The play did reach every branch the chunks split: planned, escalated, dropped,
    # closed as missed.
    actions = {audit[0] for audit in one_pass["audits"]}
    assert {"checkin.escalated", "checkin.dropped", "checkin.missed"} <= actions
    assert len({run[0] for run in one_pass["runs"]}) == CADRES - 2 - 1
    escalations = [o for o in one_pass["outbox"] if o[2] is OutboxKind.CHECKIN_ESCALATION]
    assert escalations


@contextmanager
def inserts_into_outbox(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        if str(args[2]).lstrip().upper().startswith("INSERT INTO OUTBOX"):
            seen.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_deadline_reminders_already_planned_are_not_inserted_again(
    seeded_db: Database,
) -> None:
    await add_cadres(seeded_db)
    # Two hours before the first stage report is due (2026-11-06 22:00 in the host zone).
    now = datetime(2026, 11, 6, 12, 0, tzinfo=UTC)
    first = await plan_deadlines(seeded_db, now)
    assert first.reminders > 0
    with inserts_into_outbox(seeded_db) as inserts:
        again = await plan_deadlines(seeded_db, now)
    assert again.reminders == 0
    assert inserts == []
    async with seeded_db.read() as session:
        keys = list(await session.scalars(select(OutboxMessage.unique_key)))
    assert len(keys) == len(set(keys)) == first.reminders
