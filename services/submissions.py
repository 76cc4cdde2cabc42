"""Stage reports, research papers and pre-departure research: drafts, versions, files."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.archive import MAX_DOWNLOAD_BYTES, archive_bytes
from liaison.services.audit import record
from liaison.services.errors import DomainError
from liaison.services.file_checks import check_file
from liaison.services.outbox import Planned, enqueue
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.storage.enums import AssignmentKind, DraftStep, OutboxKind, ReviewStatus, Role
from liaison.storage.models import (
    Assignment,
    Extension,
    Person,
    Programme,
    StoredFile,
    Submission,
    SubmissionDraft,
)
from liaison.storage.queries import reachable_staff


class NotYourAssignment(DomainError):
    code = "not_your_assignment"


class AssignmentClosed(DomainError):
    code = "assignment_closed"


class NoDraft(DomainError):
    code = "no_draft"


class DraftElsewhere(DomainError):
    """A draft for another assignment is open; carries its titles."""

    code = "draft_elsewhere"

    def __init__(self, title_zh: str, title_en: str) -> None:
        super().__init__(title_zh)
        self.title_zh, self.title_en = title_zh, title_en


class EmptyDraft(DomainError):
    code = "empty_draft"


class FileRefused(DomainError):
    def __init__(self, reason: str, accepted: list[str]) -> None:
        super().__init__(reason)
        self.reason, self.accepted = reason, accepted


class DuplicateFile(DomainError):
    code = "duplicate_file"


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


@dataclass(frozen=True)
class DraftFile:
    id: int
    name: str
    size: int


@dataclass(frozen=True)
class DraftView:
    id: int
    assignment: AssignmentView
    step: DraftStep
    title: str | None
    abstract: str | None
    text: str
    files: list[DraftFile]
    preview_message_id: int | None
    media_group_id: str | None


@dataclass(frozen=True)
class FileAdded:
    draft: DraftView
    same_as_version: int | None


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


async def _due_for(session: AsyncSession, assignment: Assignment, person_id: int) -> datetime:
    extension = await session.scalar(
        select(Extension.due_at).where(
            Extension.assignment_id == assignment.id, Extension.person_id == person_id
        )
    )
    return extension or assignment.due_at


async def _view(session: AsyncSession, assignment: Assignment, person_id: int) -> AssignmentView:
    due = await _due_for(session, assignment, person_id)
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


def _is_closed(assignment: Assignment, now: datetime) -> bool:
    return assignment.closes_at is not None and assignment.closes_at <= now


async def open_assignments(
    db: Database, actor: Actor, kinds: tuple[str, ...], now: datetime
) -> list[AssignmentView]:
    """Assignments of these kinds this cadre can submit to now, soonest due first."""
    async with db.read() as session:
        rows = await session.scalars(
            select(Assignment)
            .where(Assignment.programme_id == actor.programme_id, Assignment.kind.in_(kinds))
            .order_by(Assignment.due_at)
        )
        views = []
        for assignment in rows:
            if (assignment.opens_at and assignment.opens_at > now) or _is_closed(assignment, now):
                continue
            views.append(await _view(session, assignment, actor.person_id))
        return views


async def _draft_view(session: AsyncSession, draft: SubmissionDraft) -> DraftView:
    assignment = await session.get_one(Assignment, draft.assignment_id)
    files = [
        DraftFile(f.id, f.original_name or "", f.size)
        for f in await session.scalars(
            select(StoredFile).where(StoredFile.draft_id == draft.id).order_by(StoredFile.id)
        )
    ]
    return DraftView(
        draft.id,
        await _view(session, assignment, draft.person_id),
        draft.step,
        draft.title,
        draft.abstract,
        draft.text,
        files,
        draft.preview_message_id,
        draft.media_group_id,
    )


async def current_draft(db: Database, person_id: int) -> DraftView | None:
    async with db.read() as session:
        draft = await session.scalar(
            select(SubmissionDraft).where(SubmissionDraft.person_id == person_id)
        )
        return await _draft_view(session, draft) if draft else None


async def _assignment_for(
    session: AsyncSession, actor: Actor, assignment_id: int, now: datetime
) -> Assignment:
    assignment = await session.get(Assignment, assignment_id)
    if (
        assignment is None
        or assignment.programme_id != actor.programme_id
        or actor.role is not Role.CADRE
    ):
        raise NotYourAssignment()
    if _is_closed(assignment, now) or (assignment.opens_at and assignment.opens_at > now):
        raise AssignmentClosed()
    return assignment


async def start_draft(db: Database, actor: Actor, assignment_id: int, now: datetime) -> DraftView:
    """Opens a draft; an existing one for the same assignment is resumed, not replaced."""
    async with db.transaction() as session:
        assignment = await _assignment_for(session, actor, assignment_id, now)
        draft = await session.scalar(
            select(SubmissionDraft)
            .where(SubmissionDraft.person_id == actor.person_id)
            .with_for_update()
        )
        if draft is not None and draft.assignment_id != assignment.id:
            other = await session.get_one(Assignment, draft.assignment_id)
            raise DraftElsewhere(other.title_zh, other.title_en)
        if draft is None:
            draft = SubmissionDraft(
                person_id=actor.person_id,
                assignment_id=assignment.id,
                step=DraftStep.TITLE
                if assignment.kind is AssignmentKind.RESEARCH_PAPER
                else DraftStep.COLLECT,
                text="",
                created_at=now,
                updated_at=now,
            )
            session.add(draft)
            await record(
                session,
                "submission.draft_started",
                programme_id=actor.programme_id,
                actor_person_id=actor.person_id,
                details={"assignment": assignment.key},
                at=now,
            )
            await session.flush()
        return await _draft_view(session, draft)


async def _draft(session: AsyncSession, person_id: int) -> SubmissionDraft:
    draft = await session.scalar(
        select(SubmissionDraft).where(SubmissionDraft.person_id == person_id).with_for_update()
    )
    if draft is None:
        raise NoDraft()
    return draft


async def add_text(db: Database, person_id: int, text: str, now: datetime) -> DraftView:
    """Fills the paper's title, then its abstract, then adds to the body (kept whole)."""
    async with db.transaction() as session:
        draft = await _draft(session, person_id)
        if draft.step is DraftStep.TITLE:
            draft.title = text.strip()[:500]
            draft.step = DraftStep.ABSTRACT
        elif draft.step is DraftStep.ABSTRACT:
            draft.abstract = text.strip()
            draft.step = DraftStep.COLLECT
        else:
            draft.text = f"{draft.text}\n\n{text}" if draft.text else text
        draft.updated_at, draft.reminded_at = now, None
        draft.media_group_id = None
        return await _draft_view(session, draft)


def _relative_dir(programme_id: str, person_id: int, assignment_key: str, leaf: str) -> Path:
    return Path(programme_id) / f"person-{person_id}" / assignment_key / leaf


async def add_file(
    db: Database,
    data_dir: Path,
    person_id: int,
    *,
    data: bytes,
    file_name: str | None,
    default_extension: str,
    telegram_file_id: str,
    telegram_file_unique_id: str,
    mime_type: str | None,
    origin: dict[str, Any] | None,
    media_group_id: str | None,
    now: datetime,
    extra_formats: tuple[str, ...] = (),
) -> FileAdded:
    """Checks a file against the assignment and keeps it with the draft."""
    async with db.read() as session:
        draft = await session.scalar(
            select(SubmissionDraft).where(SubmissionDraft.person_id == person_id)
        )
        if draft is None:
            raise NoDraft()
        assignment = await session.get_one(Assignment, draft.assignment_id)
        person = await session.get_one(Person, person_id)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise FileRefused("too_large", list(assignment.formats))
    accepted = [*assignment.formats, *extra_formats]
    verdict = check_file(data, file_name, default_extension, accepted)
    if not verdict.ok:
        async with db.transaction() as session:
            await record(
                session,
                "submission.file_refused",
                programme_id=assignment.programme_id,
                actor_person_id=person_id,
                details={
                    "reason": verdict.reason,
                    "extension": verdict.extension,
                    "size": len(data),
                },
                at=now,
            )
        raise FileRefused(verdict.reason or "not_accepted", list(assignment.formats))
    digest = hashlib.sha256(data).hexdigest()
    async with db.read() as session:
        in_draft = await session.scalar(
            select(StoredFile.id).where(
                StoredFile.draft_id == draft.id, StoredFile.sha256 == digest
            )
        )
        earlier = await session.scalar(
            select(Submission.version)
            .join(StoredFile, StoredFile.submission_id == Submission.id)
            .where(
                Submission.person_id == person_id,
                Submission.assignment_id == assignment.id,
                StoredFile.sha256 == digest,
            )
            .order_by(Submission.version.desc())
            .limit(1)
        )
    if in_draft is not None:
        raise DuplicateFile()
    archived = await archive_bytes(
        db,
        data_dir,
        relative_dir=_relative_dir(
            person.programme_id, person_id, assignment.key, f"draft-{draft.id}"
        ),
        stem=f"file-{now:%Y%m%d%H%M%S}",
        extension=verdict.extension,
        data=data,
        telegram_file_id=telegram_file_id,
        telegram_file_unique_id=telegram_file_unique_id,
        original_name=(file_name or f"photo.{verdict.extension}")[:500],
        mime_type=mime_type,
        person_id=person_id,
        now=now,
    )
    async with db.transaction() as session:
        stored = await session.get_one(StoredFile, archived.file_id)
        stored.draft_id = draft.id
        stored.origin = origin
        row = await _draft(session, person_id)
        row.updated_at, row.reminded_at = now, None
        row.media_group_id = media_group_id
        return FileAdded(await _draft_view(session, row), earlier)


async def set_preview(db: Database, person_id: int, message_id: int) -> None:
    async with db.transaction() as session:
        draft = await session.scalar(
            select(SubmissionDraft).where(SubmissionDraft.person_id == person_id)
        )
        if draft is not None:
            draft.preview_message_id = message_id


def _remove_files(data_dir: Path, paths: list[str]) -> None:
    for relative in paths:
        (data_dir / relative).unlink(missing_ok=True)
    for relative in paths:
        folder = (data_dir / relative).parent
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()


async def discard(
    db: Database, data_dir: Path, person_id: int, now: datetime, reason: str = "cancelled"
) -> DraftView | None:
    """Drops the draft and its staged files; returns what was dropped, if anything."""
    async with db.transaction() as session:
        draft = await session.scalar(
            select(SubmissionDraft).where(SubmissionDraft.person_id == person_id).with_for_update()
        )
        if draft is None:
            return None
        view = await _draft_view(session, draft)
        files = list(
            await session.scalars(select(StoredFile).where(StoredFile.draft_id == draft.id))
        )
        paths = [f.archive_path for f in files]
        for stored in files:
            await session.delete(stored)
        await session.delete(draft)
        assignment = await session.get_one(Assignment, view.assignment.id)
        await record(
            session,
            "submission.draft_dropped",
            programme_id=assignment.programme_id,
            actor_person_id=person_id,
            details={"assignment": assignment.key, "reason": reason},
            at=now,
        )
    _remove_files(data_dir, paths)
    return view


async def submit(
    db: Database, data_dir: Path, person_id: int, draft_id: int, now: datetime
) -> Submitted:
    """Turns the draft into the next version; a second tap finds no draft and changes nothing."""
    moves: list[tuple[Path, Path]] = []
    async with db.transaction() as session:
        draft = await session.scalar(
            select(SubmissionDraft)
            .where(SubmissionDraft.id == draft_id, SubmissionDraft.person_id == person_id)
            .with_for_update()
        )
        if draft is None:
            raise NoDraft()
        assignment = await session.get_one(Assignment, draft.assignment_id)
        if _is_closed(assignment, now):
            raise AssignmentClosed()
        files = list(
            await session.scalars(select(StoredFile).where(StoredFile.draft_id == draft.id))
        )
        if not files and not draft.text.strip():
            raise EmptyDraft()
        due = await _due_for(session, assignment, person_id)
        version = (
            int(
                await session.scalar(
                    select(func.coalesce(func.max(Submission.version), 0)).where(
                        Submission.assignment_id == assignment.id, Submission.person_id == person_id
                    )
                )
                or 0
            )
            + 1
        )
        submission = Submission(
            assignment_id=assignment.id,
            person_id=person_id,
            version=version,
            title=draft.title,
            abstract=draft.abstract,
            text=draft.text or None,
            submitted_at=now,
            is_late=now > due,
            review_status=ReviewStatus.PENDING,
        )
        session.add(submission)
        await session.flush()
        for stored in files:
            old = data_dir / stored.archive_path
            new_relative = (
                Path("archive")
                / _relative_dir(assignment.programme_id, person_id, assignment.key, f"v{version}")
                / old.name
            )
            moves.append((old, data_dir / new_relative))
            stored.archive_path = str(new_relative)
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
                "late": now > due,
                "files": len(files),
                "characters": characters,
            },
            at=now,
        )
        programme = await session.get_one(Programme, assignment.programme_id)
        if programme.settings.get("digest", {}).get("submissions") == "immediate":
            for organizer in await reachable_staff(session, programme.id):
                await enqueue(
                    session,
                    Planned(
                        f"submitted:{submission.id}:{organizer.id}",
                        organizer.id,
                        OutboxKind.SUBMISSION_NOTICE,
                        {"submission_id": submission.id},
                        now,
                    ),
                )
        view = await _view(session, assignment, person_id)
        # Files move inside the transaction's lifetime: if a move fails, nothing is committed.
        for old, new in moves:
            new.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(old, new)
    for old, _new in moves:
        if old.parent.exists() and not any(old.parent.iterdir()):
            old.parent.rmdir()
    return Submitted(view, version, now > due, len(moves), characters)


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


@dataclass(frozen=True)
class OwnFile:
    telegram_file_id: str
    name: str
    path: Path


async def own_file(db: Database, data_dir: Path, person_id: int, file_id: int) -> OwnFile:
    """One of the person's own submitted files; anyone else's is refused."""
    async with db.read() as session:
        stored = await session.get(StoredFile, file_id)
        if stored is None or stored.person_id != person_id or stored.submission_id is None:
            raise NotYourAssignment()
        return OwnFile(
            stored.telegram_file_id, stored.original_name or "file", data_dir / stored.archive_path
        )


async def submission_summary(db: Database, submission_id: int) -> dict[str, Any]:
    async with db.read() as session:
        submission = await session.get_one(Submission, submission_id)
        assignment = await session.get_one(Assignment, submission.assignment_id)
        person = await session.get_one(Person, submission.person_id)
        files = await session.scalar(
            select(func.count()).where(StoredFile.submission_id == submission_id)
        )
        return {
            "name": person.name,
            "title_zh": assignment.title_zh,
            "title_en": assignment.title_en,
            "version": submission.version,
            "late": submission.is_late,
            "submitted_at": submission.submitted_at,
            "files": int(files or 0),
        }


async def drop_idle_drafts(
    db: Database, data_dir: Path, person_ids: list[int], now: datetime
) -> int:
    """Drops drafts left alone after their reminder, and tells each cadre through the outbox."""
    dropped = 0
    for person_id in person_ids:
        view = await discard(db, data_dir, person_id, now, reason="idle")
        if view is None:
            continue
        dropped += 1
        async with db.transaction() as session:
            await enqueue(
                session,
                Planned(
                    f"draft-dropped:{view.id}",
                    person_id,
                    OutboxKind.DRAFT_DROPPED,
                    {"title_zh": view.assignment.title_zh, "title_en": view.assignment.title_en},
                    now,
                ),
            )
    return dropped


async def grant_extension(
    db: Database,
    actor: Actor,
    person_id: int,
    assignment_key: str,
    due_at: datetime,
    now: datetime,
) -> AssignmentView:
    """Gives one cadre a later due time for one assignment (replacing an earlier extension)."""
    async with db.transaction() as session:
        assignment = await session.scalar(
            select(Assignment).where(
                Assignment.programme_id == actor.programme_id, Assignment.key == assignment_key
            )
        )
        if assignment is None:
            raise NotYourAssignment(assignment_key)
        extension = await session.scalar(
            select(Extension).where(
                Extension.assignment_id == assignment.id, Extension.person_id == person_id
            )
        )
        if extension is None:
            extension = Extension(assignment_id=assignment.id, person_id=person_id, due_at=due_at)
            session.add(extension)
        extension.due_at, extension.granted_by_id = due_at, actor.person_id
        await record(
            session,
            "submission.extension",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            details={
                "person_id": person_id,
                "assignment": assignment_key,
                "due_at": due_at.isoformat(),
            },
            at=now,
        )
        await session.flush()
        return await _view(session, assignment, person_id)


async def assignment_by_key(db: Database, programme_id: str, key: str) -> AssignmentView | None:
    async with db.read() as session:
        assignment = await session.scalar(
            select(Assignment).where(Assignment.programme_id == programme_id, Assignment.key == key)
        )
        return await _view(session, assignment, 0) if assignment else None


async def has_submitted(db: Database, person_id: int, assignment_id: int) -> bool:
    async with db.read() as session:
        found = await session.scalar(
            select(Submission.id)
            .where(Submission.person_id == person_id, Submission.assignment_id == assignment_id)
            .limit(1)
        )
        return found is not None


async def draft_exists(db: Database, draft_id: int) -> DraftView | None:
    async with db.read() as session:
        draft = await session.get(SubmissionDraft, draft_id)
        return await _draft_view(session, draft) if draft else None


async def assignment_view(db: Database, assignment_id: int, person_id: int) -> AssignmentView:
    async with db.read() as session:
        return await _view(session, await session.get_one(Assignment, assignment_id), person_id)


async def assignment_keys(db: Database, programme_id: str) -> list[str]:
    async with db.read() as session:
        rows = await session.scalars(
            select(Assignment.key)
            .where(Assignment.programme_id == programme_id)
            .order_by(Assignment.due_at)
        )
        return list(rows)
