"""The daily digest: what the cadres' previous local day brought, and what needs a call.

Planned at `digest.at` in each reader's own zone (one row per reader per local day, keyed
by that day, so a daylight-saving change neither skips nor doubles it) and built at send
time: the numbers are those of the moment it goes out. Codes and data only; ui/digest.py
words it and ui/digest_chart.py draws it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select

from liaison.services.audience import audience_rule
from liaison.services.audit import record
from liaison.services.authorization import require_staff
from liaison.services.checkins.alerts import Triggered, evaluate_alerts
from liaison.services.checkins.views import RunView, load_view
from liaison.services.cohort import (
    RunFact,
    absences_of,
    cohort_people,
    is_absent,
    latest_answers,
    local_day,
    run_facts,
    silence,
    work_facts,
    zone_of,
)
from liaison.services.health import oldest_waiting
from liaison.services.mail.outcomes import mail_backlog
from liaison.services.outbox.payloads import DigestPayload
from liaison.services.outbox.queue import Planned, enqueue, enqueue_many
from liaison.services.people import Actor
from liaison.services.programmes.settings import settings_of
from liaison.services.selection.digest import SelectionDigest, build_selection_digest
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, Role, RunState
from liaison.storage.models import Programme, Submission, Survey, SurveyRun
from liaison.storage.queries import reachable_staff

CHART_DAYS = 14
DEADLINE_HORIZON = timedelta(hours=72)
# A digest not sent within this long after its time (the bot was down) is not sent late.
DIGEST_VALID_FOR = timedelta(hours=12)
# How long before its instant a digest is planned (as check-in prompts are).
PLAN_AHEAD = timedelta(hours=1)


class DayMark(StrEnum):
    """One cell of the chart: how a cadre's check-in of that local day went."""

    NONE = "none"  # no check-in that day
    ANSWERED = "answered"
    LATE = "late"  # answered after the reminder
    MISSED = "missed"
    ABSENT = "absent"
    OPEN = "open"  # still open when the digest was made


# As `liaison status` (LIAISON_HEALTH__STUCK_MINUTES' default): past this, sending is stuck.
OUTBOX_STUCK_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class AlertItem:
    person_id: int
    name: str
    view: RunView
    triggered: list[Triggered]
    notes: str | None


@dataclass(frozen=True)
class EscalationItem:
    person_id: int
    name: str
    run_id: int
    slot_at: datetime
    timezone: str
    answered_later: bool
    notes: str | None


@dataclass(frozen=True)
class PersonItem:
    """Someone unreachable (``since`` is when) or silent (``since`` is the last answer)."""

    person_id: int
    name: str
    phone: str
    since: datetime | None
    missed: int = 0


@dataclass(frozen=True)
class WorkGroup:
    """One assignment: how many of the cohort have handed it in, and who has not."""

    assignment_id: int
    title_zh: str
    title_en: str
    due_at: datetime
    timezone: str
    submitted: int
    expected: int
    missing: list[str]


@dataclass(frozen=True)
class ChartRow:
    name: str
    marks: list[DayMark]


@dataclass
class Digest:
    programme_id: str
    at: datetime
    day: date  # the cadres' previous local day (the most common one when zones differ)
    cadres: int = 0
    due: int = 0
    answered: int = 0
    alerts: list[AlertItem] = field(default_factory=list)
    escalations: list[EscalationItem] = field(default_factory=list)
    submissions: int = 0
    late_submissions: int = 0
    submitted_by: list[str] = field(default_factory=list)
    unreachable: list[PersonItem] = field(default_factory=list)
    silent: list[PersonItem] = field(default_factory=list)
    upcoming: list[WorkGroup] = field(default_factory=list)
    overdue: list[WorkGroup] = field(default_factory=list)
    days: list[date] = field(default_factory=list)
    chart: list[ChartRow] = field(default_factory=list)
    wellbeing: list[float | None] = field(default_factory=list)
    # During the selection phase only (services/selection/digest.py).
    selection: SelectionDigest | None = None
    # E-mails tried and still waiting for the mail server (it is down or refusing logins).
    mail_delayed: int = 0
    # The outbox's oldest due message has waited this long: sending is stuck.
    outbox_stuck: timedelta | None = None

    @property
    def needs_attention(self) -> bool:
        return bool(self.alerts or self.escalations or self.unreachable or self.silent)

    @property
    def quiet(self) -> bool:
        """Nothing to report: no check-in due, nothing handed in, nothing pending."""
        return not (
            self.needs_attention
            or self.due
            or self.submissions
            or self.upcoming
            or self.overdue
            or self.selection is not None
            or self.mail_delayed
            or self.outbox_stuck is not None
        )

    @property
    def has_chart(self) -> bool:
        return any(mark is not DayMark.NONE for row in self.chart for mark in row.marks)


def _mark(run: RunFact | None, away: bool, now: datetime) -> DayMark:
    if away:
        return DayMark.ABSENT
    if run is None:
        return DayMark.NONE
    if run.state is RunState.COMPLETED:
        return DayMark.LATE if run.late else DayMark.ANSWERED
    if run.closes_at > now:
        return DayMark.OPEN
    return DayMark.MISSED


async def build_digest(db: Database, programme_id: str, at: datetime) -> Digest:
    """The digest as of ``at``, for the local day before it in each cadre's zone."""
    async with db.read() as session:
        programme = await session.get_one(Programme, programme_id)
        cadres = await cohort_people(session, programme_id)
        ids = [p.id for p in cadres]
        day_of = {p.id: local_day(at, zone_of(p, programme)) - timedelta(days=1) for p in cadres}
        common = Counter(day_of.values()).most_common(1)
        day = common[0][0] if common else local_day(at, programme.home_timezone) - timedelta(1)
        digest = Digest(programme_id, at, day, cadres=len(cadres))
        first = min(day_of.values(), default=day) - timedelta(days=CHART_DAYS)
        runs = await run_facts(session, ids, first, at)
        away = await absences_of(session, ids, first)
        by_person_day = {(r.person_id, r.slot_date): r for r in runs}
        # Grouped once: scanning every run for every cadre was quadratic (63 s for
        # 10,000 cadres, benchmarks/planner.py).
        runs_of: dict[int, list[RunFact]] = {}
        for r in runs:
            runs_of.setdefault(r.person_id, []).append(r)

        # The day's check-ins: answered of due, alerts with their answers, escalations.
        for person in cadres:
            for run in runs_of.get(person.id, []):
                if run.slot_date != day_of[person.id]:
                    continue
                if is_absent(away.get(person.id, []), run.slot_date):
                    continue
                digest.due += 1
                digest.answered += run.state is RunState.COMPLETED
                if run.alerts:
                    stored = await session.get_one(SurveyRun, run.run_id)
                    survey = await session.get_one(Survey, stored.survey_id)
                    view = await load_view(session, stored)
                    digest.alerts.append(
                        AlertItem(
                            person.id,
                            person.name,
                            view,
                            evaluate_alerts(list(survey.alert_rules), view),
                            run.notes,
                        )
                    )
                if run.escalated_at is not None:
                    digest.escalations.append(
                        EscalationItem(
                            person.id,
                            person.name,
                            run.run_id,
                            run.slot_at,
                            run.timezone,
                            run.state is RunState.COMPLETED,
                            run.notes,
                        )
                    )

        # Submissions handed in on the day, by the submitter's local day.
        names = {p.id: p.name for p in cadres}
        zones = {p.id: zone_of(p, programme) for p in cadres}
        since = at - timedelta(days=3)
        for submission in await session.scalars(
            select(Submission)
            .where(
                Submission.person_id.in_(ids),
                Submission.submitted_at >= since,
                Submission.submitted_at < at,
            )
            .order_by(Submission.submitted_at)
        ):
            person_id = submission.person_id
            if local_day(submission.submitted_at, zones[person_id]) != day_of[person_id]:
                continue
            digest.submissions += 1
            digest.late_submissions += submission.is_late
            if names[person_id] not in digest.submitted_by:
                digest.submitted_by.append(names[person_id])

        # Who cannot be reached, and who has gone quiet.
        answered_last = await latest_answers(session, ids)
        for person in cadres:
            if person.unreachable_at is not None:
                digest.unreachable.append(
                    PersonItem(person.id, person.name, person.phone, person.unreachable_at)
                )
                continue
            if is_absent(away.get(person.id, []), local_day(at, zones[person.id])):
                continue
            quiet = silence(person, runs, answered_last.get(person.id), away.get(person.id, []), at)
            if quiet is not None:
                digest.silent.append(
                    PersonItem(person.id, person.name, person.phone, quiet.since, quiet.missed)
                )

        # Work due soon, and work overdue, grouped by assignment.
        assignments = await work_facts(session, programme_id, ids)
        rule = await audience_rule(session, programme_id)
        for assignment in assignments.rows:
            if assignment.closes_at is not None and assignment.closes_at <= at:
                continue  # closed: nothing more can come in, so nothing to chase
            # As the reminders: work is chased from those who have joined the bot and whom
            # the assignment is for (services/audience.py).
            work = [
                assignments.work[(assignment.id, person.id)]
                for person in cadres
                if person.enrolled_at is not None
                and rule.gets_assignment(person.status, assignment)
            ]
            if not work:
                continue
            submitted = sum(w.done for w in work)
            soon = [w for w in work if not w.done and at < w.due_at <= at + DEADLINE_HORIZON]
            late = [w for w in work if not w.done and w.due_at <= at]
            for chosen, target in ((soon, digest.upcoming), (late, digest.overdue)):
                if chosen:
                    target.append(
                        WorkGroup(
                            assignment.id,
                            assignment.title_zh,
                            assignment.title_en,
                            min(w.due_at for w in chosen),
                            assignment.timezone,
                            submitted,
                            len(work),
                            [names[w.person_id] for w in chosen],
                        )
                    )

        # The chart: a cadre × day grid of the last CHART_DAYS days, and mean wellbeing.
        digest.days = [day - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
        totals: list[list[int]] = [[] for _ in digest.days]
        for person in cadres:
            shift = day_of[person.id] - day
            marks = []
            for index, shown in enumerate(digest.days):
                local = shown + shift
                cell = by_person_day.get((person.id, local))
                marks.append(_mark(cell, is_absent(away.get(person.id, []), local), at))
                if cell is not None and cell.wellbeing is not None:
                    totals[index].append(cell.wellbeing)
            digest.chart.append(ChartRow(person.name, marks))
        digest.wellbeing = [sum(v) / len(v) if v else None for v in totals]
        digest.selection = await build_selection_digest(
            session, programme_id, at - timedelta(days=1), at
        )
    digest.mail_delayed = (await mail_backlog(db, programme_id)).delayed
    waiting = await oldest_waiting(db, at)
    if waiting is not None and waiting > OUTBOX_STUCK_AFTER:
        digest.outbox_stuck = waiting
    return digest


async def plan_digests(db: Database, now: datetime) -> int:
    """Plans each organizer's and observer's digest at `digest.at` in their own zone.

    Planned up to PLAN_AHEAD before its instant and due at it, so the sender releases it
    on time; its text is built when it is sent. One read of the staff and one multi-row
    insert per programme."""
    messages: list[Planned] = []
    async with db.transaction() as session:
        for programme in list(await session.scalars(select(Programme))):
            settings = settings_of(programme).digest
            readers = await reachable_staff(session, programme.id, (Role.ORGANIZER, Role.OBSERVER))
            for reader in readers:
                zone_name = reader.timezone or settings.timezone or programme.home_timezone
                today = now.astimezone(zone(zone_name)).date()
                for day in (today, today + timedelta(days=1)):
                    # A time in a spring-forward gap reads as the instant after it: one a day.
                    instant = datetime.combine(day, settings.at, tzinfo=zone(zone_name))
                    if now < instant - PLAN_AHEAD or now > instant + DIGEST_VALID_FOR:
                        continue
                    messages.append(
                        Planned(
                            f"digest:{programme.id}:{day.isoformat()}:{reader.id}",
                            reader.id,
                            OutboxKind.DIGEST,
                            DigestPayload(programme_id=programme.id, until=instant),
                            instant,
                            instant + DIGEST_VALID_FOR,
                        )
                    )
        return await enqueue_many(session, messages)


async def digest_now(db: Database, actor: Actor, now: datetime) -> None:
    """/digest: the same digest, made now, through the outbox like the daily one."""
    require_staff(actor)
    async with db.transaction() as session:
        await enqueue(
            session,
            Planned(
                f"digest:{actor.programme_id}:now:{actor.person_id}:{now:%Y%m%d%H%M%S}",
                actor.person_id,
                OutboxKind.DIGEST,
                DigestPayload(programme_id=actor.programme_id, until=now),
                now,
            ),
        )
        await record(
            session,
            "digest.requested",
            programme_id=actor.programme_id,
            actor_person_id=actor.person_id,
            at=now,
        )
