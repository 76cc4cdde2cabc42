"""Absences excuse a cadre from check-ins on given days; organizers record them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from liaison.services.audit import record
from liaison.services.errors import AmbiguousName, InvalidDate, NotAllowed, PersonNotFound
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.enums import Role, RunState
from liaison.storage.models import Absence, Person, SurveyRun


@dataclass(frozen=True)
class AbsenceRecorded:
    person_name: str
    starts_on: date
    ends_on: date
    runs_cancelled: int


async def find_person(db: Database, programme_id: str, name: str) -> Person:
    """Finds a roster entry by exact name, then by a unique case-insensitive prefix."""
    async with db.read() as session:
        people = list(
            await session.scalars(select(Person).where(Person.programme_id == programme_id))
        )
    exact = [p for p in people if p.name == name]
    if len(exact) == 1:
        return exact[0]
    loose = [p for p in people if p.name.lower().startswith(name.lower())]
    if len(loose) == 1:
        return loose[0]
    if len(loose) > 1 or len(exact) > 1:
        raise AmbiguousName(name)
    raise PersonNotFound(name)


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
    if actor.role is not Role.ORGANIZER:
        raise NotAllowed()
    if ends_on < starts_on:
        raise InvalidDate(f"{starts_on} > {ends_on}")
    person = await find_person(db, actor.programme_id, name)
    async with db.transaction() as session:
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
            run.state = RunState.MISSED
            run.notes = "absent" if not run.notes else f"{run.notes}\nabsent"
            cancelled += 1
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


async def set_awaiting(db: Database, person_id: int, awaiting: dict[str, object] | None) -> None:
    async with db.transaction() as session:
        person = await session.get_one(Person, person_id)
        person.awaiting = awaiting


async def get_awaiting(db: Database, person_id: int) -> dict[str, object] | None:
    async with db.read() as session:
        person = await session.get_one(Person, person_id)
        return dict(person.awaiting) if person.awaiting else None
