"""The organizers' daily digest: planned at `digest.at` in its zone, built at send time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from liaison.services.audience import audience_rule, is_followed
from liaison.services.mail.outcomes import mail_backlog
from liaison.services.outbox.payloads import DigestPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.programmes.settings import settings_of
from liaison.services.selection.digest import SelectionDigest, build_selection_digest
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, Role, RunState
from liaison.storage.models import (
    Assignment,
    AuditEvent,
    Extension,
    Person,
    Programme,
    Submission,
    SurveyRun,
)
from liaison.storage.queries import reachable_staff

SILENT_AFTER = timedelta(days=7)


@dataclass
class Digest:
    programme_id: str
    since: datetime
    until: datetime
    submissions: int = 0
    late_submissions: int = 0
    submitted_by: list[str] = field(default_factory=list)
    checkins_completed: int = 0
    checkins_missed: int = 0
    checkins_escalated: int = 0
    alerts: int = 0
    overdue: list[tuple[str, str, str]] = field(default_factory=list)  # name, title zh, en
    unreachable: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    # During the selection phase only (services/selection/digest.py).
    selection: SelectionDigest | None = None
    # E-mails tried and still waiting for the mail server (it is down or refusing logins).
    mail_delayed: int = 0


async def build_digest(db: Database, programme_id: str, until: datetime) -> Digest:
    since = until - timedelta(days=1)
    digest = Digest(programme_id, since, until)
    async with db.read() as session:
        cadres = list(
            await session.scalars(
                select(Person).where(Person.programme_id == programme_id, Person.role == Role.CADRE)
            )
        )
        names = {p.id: p.name for p in cadres}
        rows = await session.scalars(
            select(Submission)
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .where(
                Assignment.programme_id == programme_id,
                Submission.submitted_at >= since,
                Submission.submitted_at < until,
            )
        )
        for submission in rows:
            digest.submissions += 1
            digest.late_submissions += int(submission.is_late)
            name = names.get(submission.person_id, "?")
            if name not in digest.submitted_by:
                digest.submitted_by.append(name)
        runs = list(
            await session.scalars(
                select(SurveyRun).where(
                    SurveyRun.person_id.in_(names),
                    SurveyRun.slot_at >= since,
                    SurveyRun.slot_at < until,
                )
            )
        )
        digest.checkins_completed = sum(r.state == RunState.COMPLETED for r in runs)
        digest.checkins_missed = sum(r.state == RunState.MISSED for r in runs)
        digest.checkins_escalated = sum(r.escalated_at is not None for r in runs)
        events = await session.scalars(
            select(AuditEvent).where(
                AuditEvent.programme_id == programme_id,
                AuditEvent.action == "checkin.completed",
                AuditEvent.at >= since,
                AuditEvent.at < until,
            )
        )
        digest.alerts = sum(1 for e in events if int(e.details.get("alerts", 0)) > 0)
        followed = {p.id for p in cadres if is_followed(p.status)}
        digest.unreachable = [
            p.name for p in cadres if p.unreachable_at is not None and p.id in followed
        ]
        recent = set(
            await session.scalars(
                select(SurveyRun.person_id).where(
                    SurveyRun.person_id.in_(names),
                    SurveyRun.state == RunState.COMPLETED,
                    SurveyRun.completed_at >= until - SILENT_AFTER,
                )
            )
        )
        planned = set(
            await session.scalars(
                select(SurveyRun.person_id).where(
                    SurveyRun.person_id.in_(names), SurveyRun.slot_at >= until - SILENT_AFTER
                )
            )
        )
        digest.silent = [names[pid] for pid in sorted((planned - recent) & followed)]
        rule = await audience_rule(session, programme_id)
        assignments = await session.scalars(
            select(Assignment).where(
                Assignment.programme_id == programme_id, Assignment.due_at < until
            )
        )
        for assignment in assignments:
            done = set(
                await session.scalars(
                    select(Submission.person_id).where(Submission.assignment_id == assignment.id)
                )
            )
            extended = {
                e.person_id: e.due_at
                for e in await session.scalars(
                    select(Extension).where(Extension.assignment_id == assignment.id)
                )
            }
            for person in cadres:
                due = extended.get(person.id, assignment.due_at)
                if (
                    person.id not in done
                    and due < until
                    and person.enrolled_at is not None
                    and rule.gets_assignment(person.status, assignment)
                ):
                    digest.overdue.append((person.name, assignment.title_zh, assignment.title_en))
        digest.selection = await build_selection_digest(session, programme_id, since, until)
    digest.mail_delayed = (await mail_backlog(db, programme_id)).delayed
    return digest


# A digest not sent within this long after its time (the bot was down) is not sent late.
DIGEST_VALID_FOR = timedelta(hours=12)


async def plan_digests(db: Database, now: datetime) -> int:
    """Plans today's digest for every organizer and observer once its time has come."""
    planned = 0
    async with db.transaction() as session:
        for programme in list(await session.scalars(select(Programme))):
            settings = settings_of(programme).digest
            zone_name = settings.timezone or programme.home_timezone
            today = now.astimezone(zone(zone_name)).date()
            instant = datetime.combine(today, settings.at, tzinfo=zone(zone_name))
            if now < instant or now > instant + DIGEST_VALID_FOR:
                continue
            readers = await reachable_staff(session, programme.id, (Role.ORGANIZER, Role.OBSERVER))
            for reader in readers:
                planned += await enqueue(
                    session,
                    Planned(
                        f"digest:{programme.id}:{today.isoformat()}:{reader.id}",
                        reader.id,
                        OutboxKind.DIGEST,
                        DigestPayload(programme_id=programme.id, until=instant),
                        instant,
                        instant + DIGEST_VALID_FOR,
                    ),
                )
    return planned
