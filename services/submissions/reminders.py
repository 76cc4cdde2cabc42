"""Deadline reminders and idle drafts, planned into the outbox.

Only the latest reminder that has come due is planned: after downtime a cadre gets one
"due in 2 hours", not the 72 h, 24 h and 2 h ones at once. Keys carry the due time, so
an extension plans a fresh series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import audience_rule
from liaison.services.outbox.payloads import DeadlinePayload, DraftPayload
from liaison.services.outbox.queue import Planned, enqueue, enqueue_many
from liaison.services.programmes.settings import settings_of
from liaison.services.submissions.assignments import done_people
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, PersonStatus, Role
from liaison.storage.models import (
    Assignment,
    Extension,
    OutboxMessage,
    Person,
    Programme,
    SubmissionDraft,
)

DRAFT_IDLE = timedelta(hours=24)
# A stand-in person id in a key worked out once for many people (never a real id).
PERSON = -1
PERSON_MARK = f":{PERSON}:"
DRAFT_DROP_AFTER_REMINDER = timedelta(hours=48)


@dataclass
class DeadlineReport:
    reminders: int = 0
    drafts_reminded: int = 0
    drafts_dropped: list[int] = field(default_factory=list)


async def plan_deadlines(db: Database, now: datetime) -> DeadlineReport:
    report = DeadlineReport()
    async with db.transaction() as session:
        programmes = list(await session.scalars(select(Programme)))
        for programme in programmes:
            await _programme_deadlines(session, programme, now, report)
        await _drafts(session, now, report)
    return report


async def _programme_deadlines(
    session: AsyncSession, programme: Programme, now: datetime, report: DeadlineReport
) -> None:
    reminders = settings_of(programme).reminders
    before, overdue_days = reminders.before, reminders.overdue_days
    # Plain rows, not ORM objects: a cohort of thousands is read on every tick.
    cadres = (
        await session.execute(
            select(Person.id, Person.status).where(
                Person.programme_id == programme.id,
                Person.role == Role.CADRE,
                Person.telegram_chat_id.is_not(None),
                Person.unreachable_at.is_(None),
            )
        )
    ).all()
    if not cadres:
        return
    rule = await audience_rule(session, programme.id)
    assignments = await session.scalars(
        select(Assignment).where(Assignment.programme_id == programme.id)
    )
    messages: list[Planned] = []
    for assignment in assignments:
        if assignment.closes_at is not None and assignment.closes_at <= now:
            continue
        extensions = {
            e.person_id: e.due_at
            for e in await session.scalars(
                select(Extension).where(Extension.assignment_id == assignment.id)
            )
        }
        submitted = await done_people(session, assignment.id)
        # The rule depends on the status only: asked once per status, not once per cadre.
        gets = {status: rule.gets_assignment(status, assignment) for status in PersonStatus}
        wanted: list[tuple[str, int, OutboxKind, datetime, datetime]] = []
        # Worked out once per due time (the assignment's, or an extension's), not once
        # per cadre: only the person's id differs in the key.
        latest: dict[datetime, tuple[str, OutboxKind, datetime] | None] = {}
        for person in cadres:
            if person.id in submitted or not gets[person.status]:
                continue
            due = extensions.get(person.id, assignment.due_at)
            if due not in latest:
                latest[due] = _latest_reminder(
                    assignment.id, PERSON, due, before, overdue_days, now
                )
            planned = latest[due]
            if planned is not None:
                template, kind, expires = planned
                key = template.replace(PERSON_MARK, f":{person.id}:", 1)
                wanted.append((key, person.id, kind, due, expires))
        # Every tick works out the same reminders again: those already in the outbox
        # are left out here, so a tick does not build and re-insert a cohort's payloads
        # to have them ignored by ON CONFLICT DO NOTHING.
        known = await _planned_keys(session, [key for key, *_ in wanted])
        messages.extend(
            Planned(
                key,
                person_id,
                kind,
                DeadlinePayload.model_construct(assignment_id=assignment.id, due_at=due),
                now,
                expires,
            )
            for key, person_id, kind, due, expires in wanted
            if key not in known
        )
    # One multi-row insert for the cohort's new reminders, not one per cadre.
    report.reminders += await enqueue_many(session, messages)


async def _planned_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of these reminder keys are already in the outbox. One statement whatever
    their number: the keys of one assignment differ only by person, so one LIKE per
    kind, due time and offset (``due:7:%:202611062200:120``) finds them; a cohort with
    many extensions (many due times) is read by the assignment's prefix instead."""
    if not keys:
        return set()
    patterns = {_pattern(key) for key in keys}
    if len(patterns) > 8:
        patterns = {":".join(key.split(":", 2)[:2]) + ":%" for key in keys}
    found = await session.scalars(
        select(OutboxMessage.unique_key).where(
            or_(*(OutboxMessage.unique_key.like(pattern) for pattern in sorted(patterns)))
        )
    )
    wanted = set(keys)
    return {key for key in found if key in wanted}


def _pattern(key: str) -> str:
    kind, assignment, _person, rest = key.split(":", 3)
    return f"{kind}:{assignment}:%:{rest}"


def _latest_reminder(
    assignment_id: int,
    person_id: int,
    due: datetime,
    before: list[timedelta],
    overdue_days: int,
    now: datetime,
) -> tuple[str, OutboxKind, datetime] | None:
    stamp = f"{due:%Y%m%d%H%M}"
    if now < due:
        passed = [offset for offset in before if due - offset <= now]
        if not passed:
            return None
        offset = min(passed)
        minutes = int(offset / timedelta(minutes=1))
        return (
            f"due:{assignment_id}:{person_id}:{stamp}:{minutes}",
            OutboxKind.DEADLINE_REMINDER,
            due,
        )
    days = int((now - due) / timedelta(days=1))
    if days < 1 or days > overdue_days:
        return None
    return (
        f"overdue:{assignment_id}:{person_id}:{stamp}:{days}",
        OutboxKind.OVERDUE_REMINDER,
        due + timedelta(days=days + 1),
    )


async def _drafts(session: AsyncSession, now: datetime, report: DeadlineReport) -> None:
    drafts = await session.scalars(select(SubmissionDraft).with_for_update(skip_locked=True))
    for draft in drafts:
        if draft.reminded_at is None and now - draft.updated_at >= DRAFT_IDLE:
            draft.reminded_at = now
            await enqueue(
                session,
                Planned(
                    f"draft:{draft.id}:{draft.updated_at:%Y%m%d%H%M}",
                    draft.person_id,
                    OutboxKind.DRAFT_REMINDER,
                    DraftPayload(draft_id=draft.id),
                    now,
                ),
            )
            report.drafts_reminded += 1
        elif draft.reminded_at is not None and now - draft.reminded_at >= DRAFT_DROP_AFTER_REMINDER:
            report.drafts_dropped.append(draft.person_id)
