"""A person's dossier: roster and selection data, check-ins, work, notes, absences.

What organizers read before a call or when weighing a cadre for promotion; observers read
it too. Finding the person by name lives here as well: a name matching several people
returns them all, to choose from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.authorization import require_staff
from liaison.services.checkins.views import RunView, load_view
from liaison.services.cohort import zone_of
from liaison.services.errors import PersonNotFound
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, ReviewStatus, Role
from liaison.storage.models import (
    Absence,
    Assignment,
    Extension,
    Person,
    Programme,
    Review,
    Submission,
    SurveyRun,
)

RECENT_CHECKINS = 5
NOTES_SHOWN = 10


@dataclass(frozen=True)
class PersonRef:
    id: int
    name: str
    unit: str | None
    role: Role


async def people_named(db: Database, actor: Actor, name: str) -> list[PersonRef]:
    """Everyone in the actor's programme the name fits: the exact name wins; else a
    case-insensitive prefix; else a part of the name. None at all is an error."""
    require_staff(actor)
    wanted = name.strip().lower()
    async with db.read() as session:
        people = list(
            await session.scalars(
                select(Person).where(Person.programme_id == actor.programme_id).order_by(Person.id)
            )
        )
    for fits in (
        lambda p: p.name.lower() == wanted,
        lambda p: p.name.lower().startswith(wanted),
        lambda p: wanted in p.name.lower(),
    ):
        found = [PersonRef(p.id, p.name, p.unit, p.role) for p in people if wanted and fits(p)]
        if found:
            return found
    raise PersonNotFound(name)


@dataclass(frozen=True)
class VersionEntry:
    version: int
    submitted_at: datetime
    late: bool
    status: ReviewStatus
    score: float | None
    in_review_by: str | None


@dataclass(frozen=True)
class WorkEntry:
    title_zh: str
    title_en: str
    due_at: datetime
    timezone: str
    extended: bool
    versions: list[VersionEntry]


@dataclass(frozen=True)
class NoteEntry:
    run_id: int
    slot_at: datetime
    timezone: str
    notes: str


@dataclass(frozen=True)
class AbsenceEntry:
    starts_on: date
    ends_on: date
    reason: str | None


@dataclass
class Dossier:
    person_id: int
    name: str
    unit: str | None
    position: str | None
    phone: str
    role: Role
    status: PersonStatus
    test_batch: int | None
    english_score: float | None
    bft_level: str | None
    roster_notes: str | None
    timezone: str
    home_timezone: str
    enrolled_at: datetime | None
    unreachable_at: datetime | None
    checkins: list[RunView] = field(default_factory=list)
    work: list[WorkEntry] = field(default_factory=list)
    notes: list[NoteEntry] = field(default_factory=list)
    absences: list[AbsenceEntry] = field(default_factory=list)


async def dossier(db: Database, actor: Actor, person_id: int) -> Dossier:
    """The whole record of one person of the actor's programme."""
    require_staff(actor)
    async with db.read() as session:
        person = await session.get(Person, person_id)
        if person is None or person.programme_id != actor.programme_id:
            raise PersonNotFound(str(person_id))
        programme = await session.get_one(Programme, person.programme_id)
        found = Dossier(
            person.id,
            person.name,
            person.unit,
            person.position,
            person.phone,
            person.role,
            person.status,
            person.test_batch,
            person.english_score,
            person.bft_level,
            person.notes,
            zone_of(person, programme)
            if person.role is Role.CADRE
            else person.timezone or programme.home_timezone,
            programme.home_timezone,
            person.enrolled_at,
            person.unreachable_at,
        )
        runs = list(
            await session.scalars(
                select(SurveyRun)
                .where(SurveyRun.person_id == person.id)
                .order_by(SurveyRun.slot_at.desc())
            )
        )
        found.checkins = [await load_view(session, run) for run in runs[:RECENT_CHECKINS]]
        found.notes = [
            NoteEntry(run.id, run.slot_at, run.timezone, run.notes)
            for run in runs
            if run.notes and run.notes.strip() != "absent"
        ][:NOTES_SHOWN]
        found.absences = [
            AbsenceEntry(a.starts_on, a.ends_on, a.reason)
            for a in await session.scalars(
                select(Absence).where(Absence.person_id == person.id).order_by(Absence.starts_on)
            )
        ]
        if person.role is Role.CADRE:
            found.work = await _work(session, person.id, person.programme_id)
    return found


async def _work(session: AsyncSession, person_id: int, programme_id: str) -> list[WorkEntry]:
    """Every assignment with this cadre's due time and versions, who reviews one now."""
    extensions = {
        e.assignment_id: e.due_at
        for e in await session.scalars(select(Extension).where(Extension.person_id == person_id))
    }
    reviewers = {
        review.submission_id: review
        for review in await session.scalars(
            select(Review)
            .join(Submission, Submission.id == Review.submission_id)
            .where(Submission.person_id == person_id)
        )
    }
    names = {
        p.id: p.name
        for p in await session.scalars(select(Person).where(Person.programme_id == programme_id))
    }
    entries = []
    for assignment in await session.scalars(
        select(Assignment)
        .where(Assignment.programme_id == programme_id)
        .order_by(Assignment.due_at, Assignment.id)
    ):
        versions = []
        for submission in await session.scalars(
            select(Submission)
            .where(Submission.assignment_id == assignment.id, Submission.person_id == person_id)
            .order_by(Submission.version)
        ):
            review = reviewers.get(submission.id)
            holder = None
            if review is not None and review.decided_at is None and review.reviewer_id:
                holder = names.get(review.reviewer_id)
            versions.append(
                VersionEntry(
                    submission.version,
                    submission.submitted_at,
                    submission.is_late,
                    submission.review_status,
                    submission.score,
                    holder,
                )
            )
        due = extensions.get(assignment.id, assignment.due_at)
        entries.append(
            WorkEntry(
                assignment.title_zh,
                assignment.title_en,
                due,
                assignment.timezone,
                assignment.id in extensions,
                versions,
            )
        )
    return entries
