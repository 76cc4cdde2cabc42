"""Access ends: withdrawal, unlinking a Telegram account, and erasing a person.

- **Withdrawn** people keep their records but may do nothing (the guard tells them so,
  the planners skip them, nothing is sent to them).
- **Unlinking** removes the Telegram account from a roster entry; the person can enrol
  again (with a new phone number's entry, a code, or the same entry).
- **Erasing** removes a person's personal data and archived files for good and keeps the
  rows that carry anonymous counts: the cohort's numbers (check-ins completed, versions
  submitted, late flags, scores) stay true, nobody can be told from them.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.errors import PersonNotFound
from liaison.services.files.archive import archive_changes, person_folders
from liaison.services.people import find_person
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus
from liaison.storage.models import (
    Absence,
    AuditEvent,
    EnrolmentCode,
    EnrolmentRefusals,
    InboxUpdate,
    Person,
    StoredFile,
    Submission,
    SubmissionDraft,
    SurveyAnswer,
    SurveyRun,
)

# Audit details that may carry what a person wrote or who they are.
PERSONAL_DETAILS = ("reason", "phone_tail", "sender_user_name", "file")


@dataclass(frozen=True)
class Unlinked:
    name: str
    was_linked: bool


@dataclass(frozen=True)
class Erased:
    person_id: int
    placeholder: str
    files: int
    submissions: int
    answers: int


def _unlink(person: Person) -> bool:
    linked = person.telegram_user_id is not None
    person.telegram_user_id = None
    person.telegram_chat_id = None
    person.awaiting = None
    person.unreachable_at = None
    return linked


async def withdraw(session: AsyncSession, people: Iterable[Person], now: datetime) -> list[str]:
    """Marks people withdrawn and unlinks their accounts; returns their names."""
    names = []
    for person in people:
        person.status = PersonStatus.WITHDRAWN
        linked = _unlink(person)
        await record(
            session,
            "person.withdrawn",
            programme_id=person.programme_id,
            details={"person_id": person.id, "unlinked": linked},
            at=now,
        )
        names.append(person.name)
    return names


async def unlink_person(db: Database, programme_id: str, name: str, now: datetime) -> Unlinked:
    """Removes the Telegram link of one roster entry; they may enrol again."""
    async with db.transaction() as session:
        person = await find_person(session, programme_id, name)
        linked = _unlink(person)
        await record(
            session,
            "person.unlinked",
            programme_id=programme_id,
            details={"person_id": person.id, "was_linked": linked},
            at=now,
        )
        return Unlinked(person.name, linked)


async def exact_person(db: Database, programme_id: str, name: str) -> str:
    """The full name of the one person called exactly ``name`` (erasing takes no prefix)."""
    async with db.read() as session:
        person = await find_person(session, programme_id, name)
    if person.name != name:
        raise PersonNotFound(name)
    return person.name


def placeholder(person_id: int) -> str:
    """What an erased person is called from then on: their number, nothing else."""
    return f"#{person_id} (已删除 erased)"


async def erase_person(
    db: Database, data_dir: Path, programme_id: str, name: str, now: datetime
) -> Erased:
    """Erases one person's personal data and files; anonymous counts are kept.

    Deleted: name (a placeholder instead), phone, unit, position, selection data, notes,
    preferences, the Telegram link, codes, drafts, the text of answers and submissions,
    organizers' notes and feedback about them, absence reasons, every archived file.
    Kept: the rows that carry counts (runs and their states, answers as answered or
    skipped, versions with their late flag, review status and score, extensions).
    The erasure is audited by person number only.
    """
    async with archive_changes(data_dir) as files, db.transaction() as session:
        person = await find_person(session, programme_id, name)
        if person.name != name:
            raise PersonNotFound(name)
        person_id, telegram_user_id = person.id, person.telegram_user_id
        submissions = list(
            await session.scalars(select(Submission).where(Submission.person_id == person_id))
        )
        drafts = list(
            await session.scalars(
                select(SubmissionDraft.id).where(SubmissionDraft.person_id == person_id)
            )
        )
        stored = list(
            await session.scalars(
                select(StoredFile).where(
                    or_(
                        StoredFile.person_id == person_id,
                        StoredFile.submission_id.in_([s.id for s in submissions]),
                        StoredFile.draft_id.in_(drafts),
                    )
                )
            )
        )
        for file in stored:
            files.forget(file)
            await session.delete(file)
        await session.execute(delete(SubmissionDraft).where(SubmissionDraft.person_id == person_id))
        for submission in submissions:
            submission.title = submission.abstract = submission.text = None
            submission.feedback = None
        runs = list(
            await session.scalars(select(SurveyRun).where(SurveyRun.person_id == person_id))
        )
        for run in runs:
            run.notes = None
        answers = list(
            await session.scalars(
                select(SurveyAnswer).where(SurveyAnswer.run_id.in_([r.id for r in runs]))
            )
        )
        for answer in answers:
            answer.value, answer.message_id = None, None
        for absence in await session.scalars(select(Absence).where(Absence.person_id == person_id)):
            absence.reason = None
        await session.execute(delete(EnrolmentCode).where(EnrolmentCode.person_id == person_id))
        await _scrub_audit(session, programme_id, person_id, telegram_user_id)
        if telegram_user_id is not None:
            # The inbox keeps raw updates (names, texts) until they are pruned: erase them now.
            await session.execute(
                delete(InboxUpdate).where(InboxUpdate.user_id == telegram_user_id)
            )
        _unlink(person)
        person.name, person.phone = placeholder(person_id), f"erased-{person_id}"
        person.unit = person.position = person.bft_level = person.notes = None
        person.english_score = person.test_batch = None
        person.locale = person.timezone = None
        person.extra = {}
        person.status = PersonStatus.WITHDRAWN
        await record(
            session,
            "person.erased",
            programme_id=programme_id,
            details={
                "person_id": person_id,
                "files": len(stored),
                "submissions": len(submissions),
                "answers": len(answers),
            },
            at=now,
        )
    # Anything else under the person's folders (left by a crash) goes too.
    for folder in person_folders(data_dir, programme_id, person_id):
        await asyncio.to_thread(functools.partial(shutil.rmtree, folder, ignore_errors=True))
    return Erased(person_id, placeholder(person_id), len(stored), len(submissions), len(answers))


async def _scrub_audit(
    session: AsyncSession, programme_id: str, person_id: int, telegram_user_id: int | None
) -> None:
    """Keeps the person's audit events (what happened, when) without what identifies them."""
    concerning = [AuditEvent.actor_person_id == person_id, AuditEvent.programme_id == programme_id]
    if telegram_user_id is not None:
        concerning.append(AuditEvent.telegram_user_id == telegram_user_id)
    for event in await session.scalars(select(AuditEvent).where(or_(*concerning))):
        about = event.actor_person_id == person_id or event.details.get("person_id") == person_id
        theirs = telegram_user_id is not None and event.telegram_user_id == telegram_user_id
        if not (about or theirs):
            continue
        event.telegram_user_id = None
        event.details = {k: v for k, v in event.details.items() if k not in PERSONAL_DETAILS}
    if telegram_user_id is not None:
        await session.execute(
            delete(EnrolmentRefusals).where(EnrolmentRefusals.telegram_user_id == telegram_user_id)
        )
