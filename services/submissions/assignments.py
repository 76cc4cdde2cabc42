"""Assignments as one cadre sees them: due time (their extension, if any), versions, state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import audience_rule
from liaison.services.authorization import require_access
from liaison.services.people import Actor
from liaison.services.submissions.errors import AssignmentClosed, NotYourAssignment
from liaison.storage.database import Database
from liaison.storage.enums import AssignmentKind, ReviewStatus, Role
from liaison.storage.models import Assignment, Extension, Submission


@dataclass(frozen=True)
class AssignmentView:
    id: int
    key: str
    kind: AssignmentKind
    title_zh: str
    title_en: str
    due_at: datetime
    extended: bool
    timezone: str
    closes_at: datetime | None
    formats: list[str]
    versions: int


async def due_for(session: AsyncSession, assignment: Assignment, person_id: int) -> datetime:
    extension = await session.scalar(
        select(Extension.due_at).where(
            Extension.assignment_id == assignment.id, Extension.person_id == person_id
        )
    )
    return extension or assignment.due_at


async def view_of(session: AsyncSession, assignment: Assignment, person_id: int) -> AssignmentView:
    due = await due_for(session, assignment, person_id)
    versions = await session.scalar(
        select(func.count()).where(
            Submission.assignment_id == assignment.id, Submission.person_id == person_id
        )
    )
    return AssignmentView(
        assignment.id,
        assignment.key,
        assignment.kind,
        assignment.title_zh,
        assignment.title_en,
        due,
        due != assignment.due_at,
        assignment.timezone,
        assignment.closes_at,
        list(assignment.formats),
        int(versions or 0),
    )


async def done_people(session: AsyncSession, assignment_id: int) -> set[int]:
    """Who has handed this assignment in: their latest version was not returned for revision.

    A revision request reopens the assignment for that cadre, with its reminders, until a
    new version comes in.
    """
    latest: dict[int, tuple[int, ReviewStatus]] = {}
    rows = await session.execute(
        select(Submission.person_id, Submission.version, Submission.review_status).where(
            Submission.assignment_id == assignment_id
        )
    )
    for person_id, version, status in rows:
        if person_id not in latest or version > latest[person_id][0]:
            latest[person_id] = (version, status)
    return {pid for pid, (_, status) in latest.items() if status is not ReviewStatus.RETURNED}


def is_closed(assignment: Assignment, now: datetime) -> bool:
    return assignment.closes_at is not None and assignment.closes_at <= now


def is_open(assignment: Assignment, now: datetime) -> bool:
    not_yet = assignment.opens_at is not None and assignment.opens_at > now
    return not not_yet and not is_closed(assignment, now)


async def open_for(
    session: AsyncSession, assignment: Assignment, person_id: int, now: datetime
) -> bool:
    """Open to this cadre: opened, and not closed, unless their own due time (an extension,
    or a revision an organizer asked for) runs past the closing."""
    if is_open(assignment, now):
        return True
    if assignment.opens_at is not None and assignment.opens_at > now:
        return False
    return await due_for(session, assignment, person_id) > now


def archive_dir(programme_id: str, person_id: int, assignment_key: str, leaf: str) -> Path:
    """Where one version (or the draft) of one person's work lives under archive/."""
    return Path(programme_id) / f"person-{person_id}" / assignment_key / leaf


async def assignment_for(
    session: AsyncSession, actor: Actor, assignment_id: int, now: datetime
) -> Assignment:
    """The assignment a cadre may submit to now; anything else is refused."""
    require_access(actor)
    assignment = await session.get(Assignment, assignment_id)
    if (
        assignment is None
        or assignment.programme_id != actor.programme_id
        or actor.role is not Role.CADRE
    ):
        raise NotYourAssignment()
    rule = await audience_rule(session, actor.programme_id)
    if not rule.gets_assignment(actor.status, assignment):
        raise NotYourAssignment()
    if not await open_for(session, assignment, actor.person_id, now):
        raise AssignmentClosed()
    return assignment


async def open_assignments(
    db: Database, actor: Actor, kinds: tuple[AssignmentKind, ...], now: datetime
) -> list[AssignmentView]:
    """Assignments of these kinds this cadre can submit to now, soonest due first."""
    async with db.read() as session:
        rule = await audience_rule(session, actor.programme_id)
        rows = await session.scalars(
            select(Assignment)
            .where(Assignment.programme_id == actor.programme_id, Assignment.kind.in_(kinds))
            .order_by(Assignment.due_at)
        )
        return [
            await view_of(session, assignment, actor.person_id)
            for assignment in list(rows)
            if rule.gets_assignment(actor.status, assignment)
            and await open_for(session, assignment, actor.person_id, now)
        ]


async def assignment_view(db: Database, assignment_id: int, person_id: int) -> AssignmentView:
    async with db.read() as session:
        return await view_of(session, await session.get_one(Assignment, assignment_id), person_id)
