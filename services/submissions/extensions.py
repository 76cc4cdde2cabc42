"""Later due times for one cadre: granted by an organizer, or read from the roster."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.authorization import require_organizer
from liaison.services.dates import local_instant
from liaison.services.people import Actor, find_person
from liaison.services.submissions.assignments import AssignmentView, view_of
from liaison.services.submissions.errors import UnknownAssignment
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.models import Assignment, Extension


@dataclass(frozen=True)
class Granted:
    person_name: str
    assignment: AssignmentView


def extended_due(assignment: Assignment, day: date, at: time | None) -> datetime:
    """A local date (and time) in the assignment's zone; a date alone keeps its time of day."""
    local_time = at or assignment.due_at.astimezone(zone(assignment.timezone)).time()
    return local_instant(day, local_time, assignment.timezone)


async def assignment_by_key(session: AsyncSession, programme_id: str, key: str) -> Assignment:
    assignment = await session.scalar(
        select(Assignment).where(Assignment.programme_id == programme_id, Assignment.key == key)
    )
    if assignment is None:
        keys = list(
            await session.scalars(
                select(Assignment.key)
                .where(Assignment.programme_id == programme_id)
                .order_by(Assignment.due_at)
            )
        )
        raise UnknownAssignment(key, keys)
    return assignment


async def set_extension(
    session: AsyncSession, assignment: Assignment, person_id: int, due_at: datetime
) -> Extension:
    """Creates or replaces one person's extension for one assignment."""
    extension = await session.scalar(
        select(Extension).where(
            Extension.assignment_id == assignment.id, Extension.person_id == person_id
        )
    )
    if extension is None:
        extension = Extension(assignment_id=assignment.id, person_id=person_id, due_at=due_at)
        session.add(extension)
    extension.due_at = due_at
    return extension


async def grant_extension(
    db: Database,
    actor: Actor,
    name: str,
    assignment_key: str,
    day: date,
    at: time | None,
    now: datetime,
) -> Granted:
    """Gives one cadre a later due time for one assignment (replacing an earlier extension)."""
    require_organizer(actor)
    async with db.transaction() as session:
        assignment = await assignment_by_key(session, actor.programme_id, assignment_key)
        person = await find_person(session, actor.programme_id, name)
        due_at = extended_due(assignment, day, at)
        extension = await set_extension(session, assignment, person.id, due_at)
        extension.granted_by_id = actor.person_id
        await record(
            session,
            "submission.extension",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            details={
                "person_id": person.id,
                "assignment": assignment_key,
                "due_at": due_at.isoformat(),
            },
            at=now,
        )
        await session.flush()
        return Granted(person.name, await view_of(session, assignment, person.id))
