"""Submitted versions: a draft becomes version N, never overwritten, with its late flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from liaison.services.audit import record
from liaison.services.files.archive import archive_changes
from liaison.services.outbox.payloads import SubmissionPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.programmes.settings import SubmissionNotices, settings_of
from liaison.services.submissions.assignments import (
    AssignmentView,
    archive_dir,
    done_people,
    due_for,
    is_closed,
    open_for,
    view_of,
)
from liaison.services.submissions.drafts import DraftFile
from liaison.services.submissions.errors import (
    AssignmentClosed,
    EmptyDraft,
    NoDraft,
    NotYourAssignment,
)
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, ReviewStatus
from liaison.storage.models import (
    Assignment,
    Person,
    Programme,
    StoredFile,
    Submission,
    SubmissionDraft,
)
from liaison.storage.queries import reachable_staff


@dataclass(frozen=True)
class Submitted:
    assignment: AssignmentView
    version: int
    is_late: bool
    files: int
    characters: int


@dataclass(frozen=True)
class SubmissionView:
    assignment_title_zh: str
    assignment_title_en: str
    version: int
    submitted_at: datetime
    is_late: bool
    review_status: ReviewStatus
    feedback: str | None
    score: float | None
    files: list[DraftFile]


@dataclass(frozen=True)
class SubmissionSummary:
    """What an organizer's notice of one submission says."""

    name: str
    title_zh: str
    title_en: str
    version: int
    late: bool
    submitted_at: datetime
    files: int


@dataclass(frozen=True)
class OwnFile:
    telegram_file_id: str
    name: str
    path: Path


async def submit(
    db: Database, data_dir: Path, person_id: int, draft_id: int, now: datetime
) -> Submitted:
    """Turns the draft into the next version; a second tap finds no draft and changes nothing.

    The version's files get their place under v<N>/ in the same use case: linked there
    before the commit, their draft names removed after it.
    """
    async with archive_changes(data_dir) as files, db.transaction() as session:
        draft = await session.scalar(
            select(SubmissionDraft)
            .where(SubmissionDraft.id == draft_id, SubmissionDraft.person_id == person_id)
            .with_for_update()
        )
        if draft is None:
            raise NoDraft()
        assignment = await session.get_one(Assignment, draft.assignment_id)
        if is_closed(assignment, now) and not await open_for(session, assignment, person_id, now):
            raise AssignmentClosed()
        stored_files = list(
            await session.scalars(select(StoredFile).where(StoredFile.draft_id == draft.id))
        )
        if not stored_files and not draft.text.strip():
            raise EmptyDraft()
        due = await due_for(session, assignment, person_id)
        latest = await session.scalar(
            select(func.coalesce(func.max(Submission.version), 0)).where(
                Submission.assignment_id == assignment.id, Submission.person_id == person_id
            )
        )
        version = int(latest or 0) + 1
        late = now > due
        submission = Submission(
            assignment_id=assignment.id,
            person_id=person_id,
            version=version,
            title=draft.title,
            abstract=draft.abstract,
            text=draft.text or None,
            submitted_at=now,
            is_late=late,
            review_status=ReviewStatus.PENDING,
        )
        session.add(submission)
        await session.flush()
        target = archive_dir(assignment.programme_id, person_id, assignment.key, f"v{version}")
        for stored in stored_files:
            await files.move(stored, target)
            stored.submission_id, stored.draft_id = submission.id, None
        characters = len(draft.text)
        await session.delete(draft)
        await record(
            session,
            "submission.submitted",
            programme_id=assignment.programme_id,
            actor_person_id=person_id,
            details={
                "assignment": assignment.key,
                "version": version,
                "late": late,
                "files": len(stored_files),
                "characters": characters,
            },
            at=now,
        )
        programme = await session.get_one(Programme, assignment.programme_id)
        if settings_of(programme).digest.submissions is SubmissionNotices.IMMEDIATE:
            for organizer in await reachable_staff(session, programme.id):
                await enqueue(
                    session,
                    Planned(
                        f"submitted:{submission.id}:{organizer.id}",
                        organizer.id,
                        OutboxKind.SUBMISSION_NOTICE,
                        SubmissionPayload(submission_id=submission.id),
                        now,
                    ),
                )
        view = await view_of(session, assignment, person_id)
    return Submitted(view, version, late, len(stored_files), characters)


async def my_submissions(db: Database, person_id: int) -> list[SubmissionView]:
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Submission, Assignment)
                .join(Assignment, Assignment.id == Submission.assignment_id)
                .where(Submission.person_id == person_id)
                .order_by(Assignment.due_at, Assignment.id, Submission.version)
            )
        ).all()
        views = []
        for submission, assignment in rows:
            files = [
                DraftFile(f.id, f.original_name or "", f.size)
                for f in await session.scalars(
                    select(StoredFile)
                    .where(StoredFile.submission_id == submission.id)
                    .order_by(StoredFile.id)
                )
            ]
            views.append(
                SubmissionView(
                    assignment.title_zh,
                    assignment.title_en,
                    submission.version,
                    submission.submitted_at,
                    submission.is_late,
                    submission.review_status,
                    submission.feedback,
                    submission.score,
                    files,
                )
            )
        return views


async def own_file(db: Database, data_dir: Path, person_id: int, file_id: int) -> OwnFile:
    """One of the person's own submitted files; anyone else's is refused."""
    async with db.read() as session:
        stored = await session.get(StoredFile, file_id)
        if stored is None or stored.person_id != person_id or stored.submission_id is None:
            raise NotYourAssignment()
        return OwnFile(
            stored.telegram_file_id, stored.original_name or "file", data_dir / stored.archive_path
        )


async def submission_summary(db: Database, submission_id: int) -> SubmissionSummary:
    async with db.read() as session:
        submission = await session.get_one(Submission, submission_id)
        assignment = await session.get_one(Assignment, submission.assignment_id)
        person = await session.get_one(Person, submission.person_id)
        files = await session.scalar(
            select(func.count()).where(StoredFile.submission_id == submission_id)
        )
        return SubmissionSummary(
            person.name,
            assignment.title_zh,
            assignment.title_en,
            submission.version,
            submission.is_late,
            submission.submitted_at,
            int(files or 0),
        )


async def has_submitted(db: Database, person_id: int, assignment_id: int) -> bool:
    """Handed in, and not returned for revision since (reminders stop here)."""
    async with db.read() as session:
        return person_id in await done_people(session, assignment_id)
