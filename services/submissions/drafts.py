"""Work in progress: one draft per person, kept in the database so a restart loses nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.files.archive import archive_changes
from liaison.services.outbox.payloads import DroppedDraftPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.people import Actor
from liaison.services.submissions.assignments import AssignmentView, assignment_for, view_of
from liaison.services.submissions.errors import DraftElsewhere, NoDraft
from liaison.storage.database import Database
from liaison.storage.enums import AssignmentKind, DraftStep, OutboxKind
from liaison.storage.models import Assignment, StoredFile, SubmissionDraft


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


async def draft_view(session: AsyncSession, draft: SubmissionDraft) -> DraftView:
    assignment = await session.get_one(Assignment, draft.assignment_id)
    files = [
        DraftFile(f.id, f.original_name or "", f.size)
        for f in await session.scalars(
            select(StoredFile).where(StoredFile.draft_id == draft.id).order_by(StoredFile.id)
        )
    ]
    return DraftView(
        draft.id,
        await view_of(session, assignment, draft.person_id),
        draft.step,
        draft.title,
        draft.abstract,
        draft.text,
        files,
        draft.preview_message_id,
        draft.media_group_id,
    )


async def locked_draft(session: AsyncSession, person_id: int) -> SubmissionDraft:
    """The person's draft, locked for this transaction; NoDraft when there is none."""
    draft = await session.scalar(
        select(SubmissionDraft).where(SubmissionDraft.person_id == person_id).with_for_update()
    )
    if draft is None:
        raise NoDraft()
    return draft


async def current_draft(db: Database, person_id: int) -> DraftView | None:
    async with db.read() as session:
        draft = await session.scalar(
            select(SubmissionDraft).where(SubmissionDraft.person_id == person_id)
        )
        return await draft_view(session, draft) if draft else None


async def draft_exists(db: Database, draft_id: int) -> DraftView | None:
    async with db.read() as session:
        draft = await session.get(SubmissionDraft, draft_id)
        return await draft_view(session, draft) if draft else None


async def start_draft(db: Database, actor: Actor, assignment_id: int, now: datetime) -> DraftView:
    """Opens a draft; an existing one for the same assignment is resumed, not replaced."""
    async with db.transaction() as session:
        assignment = await assignment_for(session, actor, assignment_id, now)
        draft = await session.scalar(
            select(SubmissionDraft)
            .where(SubmissionDraft.person_id == actor.person_id)
            .with_for_update()
        )
        if draft is not None and draft.assignment_id != assignment.id:
            other = await session.get_one(Assignment, draft.assignment_id)
            raise DraftElsewhere(other.title_zh, other.title_en)
        if draft is None:
            paper = assignment.kind is AssignmentKind.RESEARCH_PAPER
            draft = SubmissionDraft(
                person_id=actor.person_id,
                assignment_id=assignment.id,
                step=DraftStep.TITLE if paper else DraftStep.COLLECT,
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
        return await draft_view(session, draft)


async def add_text(db: Database, person_id: int, text: str, now: datetime) -> DraftView:
    """Fills the paper's title, then its abstract, then adds to the body (kept whole)."""
    async with db.transaction() as session:
        draft = await locked_draft(session, person_id)
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
        return await draft_view(session, draft)


async def set_preview(db: Database, person_id: int, message_id: int) -> None:
    """Remembers the preview message, so an album's later items edit it in place."""
    async with db.transaction() as session:
        draft = await session.scalar(
            select(SubmissionDraft).where(SubmissionDraft.person_id == person_id)
        )
        if draft is not None:
            draft.preview_message_id = message_id


async def _discard(
    session: AsyncSession,
    person_id: int,
    forget: list[StoredFile],
    now: datetime,
    reason: str,
    draft_id: int | None = None,
) -> DraftView | None:
    query = select(SubmissionDraft).where(SubmissionDraft.person_id == person_id)
    if draft_id is not None:
        query = query.where(SubmissionDraft.id == draft_id)
    draft = await session.scalar(query.with_for_update())
    if draft is None:
        return None
    view = await draft_view(session, draft)
    files = list(await session.scalars(select(StoredFile).where(StoredFile.draft_id == draft.id)))
    for stored in files:
        forget.append(stored)
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
    return view


async def discard(
    db: Database,
    data_dir: Path,
    person_id: int,
    now: datetime,
    reason: str = "cancelled",
    *,
    draft_id: int | None = None,
) -> DraftView | None:
    """Drops the draft and its staged files; returns what was dropped, if anything.

    With ``draft_id`` (a Cancel button) only that draft: a button left on an old
    preview must not drop the draft started since.
    """
    async with archive_changes(data_dir) as files, db.transaction() as session:
        forget: list[StoredFile] = []
        view = await _discard(session, person_id, forget, now, reason, draft_id)
        for stored in forget:
            files.forget(stored)
        return view


async def drop_idle_drafts(
    db: Database, data_dir: Path, person_ids: list[int], now: datetime
) -> int:
    """Drops drafts left alone after their reminder and tells each cadre, in one step each."""
    dropped = 0
    for person_id in person_ids:
        async with archive_changes(data_dir) as files, db.transaction() as session:
            forget: list[StoredFile] = []
            view = await _discard(session, person_id, forget, now, "idle")
            if view is None:
                continue
            for stored in forget:
                files.forget(stored)
            await enqueue(
                session,
                Planned(
                    f"draft-dropped:{view.id}",
                    person_id,
                    OutboxKind.DRAFT_DROPPED,
                    DroppedDraftPayload(
                        title_zh=view.assignment.title_zh, title_en=view.assignment.title_en
                    ),
                    now,
                ),
            )
            dropped += 1
    return dropped
