"""Absences excuse a cadre from check-ins on given days; organizers record them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.checkins.states import move_run
from liaison.services.dates import check_span
from liaison.services.people import Actor, find_person
from liaison.storage.database import Database
from liaison.storage.enums import RunState
from liaison.storage.models import Absence, SurveyRun


@dataclass(frozen=True)
class AbsenceRecorded:
    person_name: str
    starts_on: date
    ends_on: date
    runs_cancelled: int


async def record_absence(
    db: Database,
    actor: Actor,
    name: str,
    starts_on: date,
    ends_on: date,
    reason: str | None,
    now: datetime,
) -> AbsenceRecorded:
    """Stores the absence; runs already planned in it and not yet answered are cancelled."""
    require_organizer(actor)
    check_span(starts_on, ends_on)
    async with db.transaction() as session:
        person = await find_person(session, actor.programme_id, name)
        session.add(
            Absence(
                person_id=person.id,
                starts_on=starts_on,
                ends_on=ends_on,
                reason=reason,
                created_by_id=actor.person_id,
                created_at=now,
            )
        )
        runs = await session.scalars(
            select(SurveyRun).where(
                SurveyRun.person_id == person.id,
                SurveyRun.slot_date >= starts_on,
                SurveyRun.slot_date <= ends_on,
                SurveyRun.state.in_([RunState.DUE, RunState.SENT]),
            )
        )
        cancelled = 0
        for run in runs:
            notes = "absent" if not run.notes else f"{run.notes}\nabsent"
            cancelled += await move_run(
                session,
                run,
                RunState.MISSED,
                only_from=(RunState.DUE, RunState.SENT),
                notes=notes,
            )
        await record(
            session,
            "absence.recorded",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            details={
                "person_id": person.id,
                "from": starts_on.isoformat(),
                "to": ends_on.isoformat(),
                "reason": reason,
            },
            at=now,
        )
    return AbsenceRecorded(person.name, starts_on, ends_on, cancelled)
