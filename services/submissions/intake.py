"""A file sent into a draft: checked against the assignment, archived, kept with the draft."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from liaison.services.audit import record
from liaison.services.files.archive import MAX_DOWNLOAD_BYTES, Incoming, archive_changes
from liaison.services.files.checks import FileVerdict, check_file
from liaison.services.files.quota import check_quota
from liaison.services.submissions.assignments import archive_dir
from liaison.services.submissions.drafts import DraftView, draft_view, locked_draft
from liaison.services.submissions.errors import DuplicateFile, FileRefused
from liaison.storage.database import Database
from liaison.storage.models import Assignment, StoredFile, Submission


@dataclass(frozen=True)
class FileAdded:
    draft: DraftView
    # The version this very file was already submitted in, if any (said, not refused).
    same_as_version: int | None


def _verdict(incoming: Incoming, default_extension: str, accepted: list[str]) -> FileVerdict:
    if len(incoming.data) > MAX_DOWNLOAD_BYTES:
        return FileVerdict(False, default_extension, "too_large")
    return check_file(incoming.data, incoming.original_name, default_extension, accepted)


async def add_file(
    db: Database,
    data_dir: Path,
    person_id: int,
    incoming: Incoming,
    *,
    default_extension: str,
    media_group_id: str | None,
    now: datetime,
    extra_formats: tuple[str, ...] = (),
    caption: str | None = None,
) -> FileAdded:
    """Checks a file against the assignment and keeps it with the draft, in one transaction.

    A refused file is audited (and the refusal committed) before FileRefused is raised.
    The caption is the cadre's words: kept in the draft's text with the file.
    """
    refused: FileRefused | None = None
    added: FileAdded | None = None
    async with archive_changes(data_dir) as files, db.transaction() as session:
        draft = await locked_draft(session, person_id)
        assignment = await session.get_one(Assignment, draft.assignment_id)
        formats = list(assignment.formats)
        verdict = _verdict(incoming, default_extension, [*formats, *extra_formats])
        if not verdict.ok:
            await record(
                session,
                "submission.file_refused",
                programme_id=assignment.programme_id,
                actor_person_id=person_id,
                details={
                    "reason": verdict.reason,
                    "extension": verdict.extension,
                    "size": len(incoming.data),
                },
                at=now,
            )
            refused = FileRefused(verdict.reason or "not_accepted", formats)
        else:
            digest = incoming.sha256
            in_draft = await session.scalar(
                select(StoredFile.id).where(
                    StoredFile.draft_id == draft.id, StoredFile.sha256 == digest
                )
            )
            if in_draft is not None:
                raise DuplicateFile()
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
            await check_quota(session, person_id, draft.id, len(incoming.data), now)
            name = incoming.original_name or f"photo.{verdict.extension}"
            await files.store(
                session,
                relative_dir=archive_dir(
                    assignment.programme_id, person_id, assignment.key, f"draft-{draft.id}"
                ),
                stem=f"file-{now:%Y%m%d%H%M%S}",
                extension=verdict.extension,
                incoming=replace(incoming, original_name=name[:500]),
                person_id=person_id,
                now=now,
                draft_id=draft.id,
            )
            if caption and caption.strip():
                draft.text = f"{draft.text}\n\n{caption}" if draft.text else caption
            draft.updated_at, draft.reminded_at = now, None
            draft.media_group_id = media_group_id
            added = FileAdded(await draft_view(session, draft), earlier)
    if refused is not None:
        raise refused
    assert added is not None
    return added
