"""The cohort as organizers follow it: who is in it, their check-ins and work, read in bulk.

The digest, /cohort and the dossier all read the same facts from here, a few queries for
the whole cohort rather than a few per person, so a cohort of 60 costs what one of 13 does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audience import is_followed
from liaison.services.authorization import require_staff
from liaison.services.people import Actor
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, QuestionKind, ReviewStatus, Role, RunState
from liaison.storage.models import (
    Absence,
    Assignment,
    AuditEvent,
    Extension,
    Person,
    Phase,
    Programme,
    Submission,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRun,
)

# Who is followed: selected for the programme, abroad, or back home with work still due.
# Everyone the programme still follows (services/audience.py: not withdrawn, not the
# candidates who were not selected); what each is asked for follows the audience rule.
COHORT_STATUSES = tuple(status for status in PersonStatus if is_followed(status))
# No answer for this long, with a check-in missed since: the organizers should call.
SILENT_AFTER = timedelta(days=3)
WELLBEING_KEY = "wellbeing"


async def cohort_people(session: AsyncSession, programme_id: str) -> list[Person]:
    rows = await session.scalars(
        select(Person)
        .where(
            Person.programme_id == programme_id,
            Person.role == Role.CADRE,
            Person.status.in_(COHORT_STATUSES),
        )
        .order_by(Person.id)
    )
    return list(rows)


def zone_of(person: Person, programme: Programme) -> str:
    return person.timezone or programme.host_timezone


def local_day(instant: datetime, zone_name: str) -> date:
    return instant.astimezone(zone(zone_name)).date()


@dataclass(frozen=True)
class RunFact:
    """One check-in run as the organizers' views need it."""

    run_id: int
    person_id: int
    slot_date: date
    slot_at: datetime
    closes_at: datetime
    timezone: str
    state: RunState
    completed_at: datetime | None
    escalated_at: datetime | None
    notes: str | None
    late: bool
    wellbeing: int | None
    alerts: int

    def closed(self, now: datetime) -> bool:
        return self.state is RunState.COMPLETED or self.closes_at <= now


async def _wellbeing_keys(session: AsyncSession, survey_ids: Iterable[int]) -> dict[int, str]:
    """Per survey, the scale question read as wellbeing: one keyed so, else the first scale."""
    keys: dict[int, str] = {}
    rows = await session.execute(
        select(SurveyQuestion.survey_id, SurveyQuestion.key)
        .where(
            SurveyQuestion.survey_id.in_(list(survey_ids)),
            SurveyQuestion.kind == QuestionKind.SCALE,
        )
        .order_by(SurveyQuestion.position)
    )
    for survey_id, key in rows:
        if survey_id not in keys or key == WELLBEING_KEY:
            keys[survey_id] = key
    return keys


async def run_facts(
    session: AsyncSession, person_ids: list[int], since: date, until: datetime
) -> list[RunFact]:
    """The runs of these people from local day ``since`` up to the instant ``until``."""
    if not person_ids:
        return []
    rows = (
        await session.execute(
            select(SurveyRun, Survey.remind_after_minutes)
            .join(Survey, Survey.id == SurveyRun.survey_id)
            .where(
                SurveyRun.person_id.in_(person_ids),
                SurveyRun.slot_date >= since,
                SurveyRun.slot_at <= until,
            )
            .order_by(SurveyRun.slot_at, SurveyRun.id)
        )
    ).all()
    runs = [run for run, _ in rows]
    keys = await _wellbeing_keys(session, {run.survey_id for run in runs})
    wellbeing: dict[int, int] = {}
    run_ids = [run.id for run in runs]
    if run_ids:
        answers = await session.execute(
            select(SurveyAnswer.run_id, SurveyAnswer.question_key, SurveyAnswer.value).where(
                SurveyAnswer.run_id.in_(run_ids), SurveyAnswer.skipped.is_(False)
            )
        )
        survey_of = {run.id: run.survey_id for run in runs}
        for run_id, key, value in answers:
            if keys.get(survey_of[run_id]) == key and value and value.isdigit():
                wellbeing[run_id] = int(value)
    alerts = await alert_counts(session, runs)
    facts = []
    for run, remind_after in rows:
        late = run.completed_at is not None and run.completed_at > run.slot_at + timedelta(
            minutes=remind_after
        )
        facts.append(
            RunFact(
                run.id,
                run.person_id,
                run.slot_date,
                run.slot_at,
                run.closes_at,
                run.timezone,
                run.state,
                run.completed_at,
                run.escalated_at,
                run.notes,
                late,
                wellbeing.get(run.id) if run.state is RunState.COMPLETED else None,
                alerts.get(run.id, 0),
            )
        )
    return facts


async def alert_counts(session: AsyncSession, runs: list[SurveyRun]) -> dict[int, int]:
    """How many alert rules each completed run raised, as recorded when it was confirmed."""
    if not runs:
        return {}
    wanted = {run.id for run in runs}
    counts: dict[int, int] = {}
    events = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "checkin.completed",
            AuditEvent.actor_person_id.in_({run.person_id for run in runs}),
            AuditEvent.at >= min(run.slot_at for run in runs),
        )
    )
    for event in events:
        run_id = event.details.get("run_id")
        if run_id in wanted:
            counts[int(run_id)] = int(event.details.get("alerts", 0))
    return counts


async def latest_answers(session: AsyncSession, person_ids: list[int]) -> dict[int, datetime]:
    """When each person last confirmed a check-in, however long ago."""
    if not person_ids:
        return {}
    rows = await session.execute(
        select(SurveyRun.person_id, SurveyRun.completed_at).where(
            SurveyRun.person_id.in_(person_ids), SurveyRun.state == RunState.COMPLETED
        )
    )
    latest: dict[int, datetime] = {}
    for person_id, completed_at in rows:
        if completed_at is not None and (
            person_id not in latest or completed_at > latest[person_id]
        ):
            latest[person_id] = completed_at
    return latest


async def absences_of(
    session: AsyncSession, person_ids: list[int], since: date
) -> dict[int, list[tuple[date, date]]]:
    found: dict[int, list[tuple[date, date]]] = {}
    if not person_ids:
        return found
    rows = await session.scalars(
        select(Absence).where(Absence.person_id.in_(person_ids), Absence.ends_on >= since)
    )
    for absence in rows:
        found.setdefault(absence.person_id, []).append((absence.starts_on, absence.ends_on))
    return found


def is_absent(spans: list[tuple[date, date]], day: date) -> bool:
    return any(first <= day <= last for first, last in spans)


@dataclass(frozen=True)
class WorkFact:
    """One assignment for one cadre: their due time and their latest version, if any."""

    assignment_id: int
    key: str
    title_zh: str
    title_en: str
    person_id: int
    due_at: datetime
    opens_at: datetime | None
    closes_at: datetime | None
    timezone: str
    extended: bool
    version: int | None = None
    status: ReviewStatus | None = None
    submitted_at: datetime | None = None
    late: bool = False
    score: float | None = None

    @property
    def done(self) -> bool:
        """Handed in and not returned for revision."""
        return self.status is not None and self.status is not ReviewStatus.RETURNED

    def is_open(self, now: datetime) -> bool:
        started = self.opens_at is None or self.opens_at <= now
        closed = self.closes_at is not None and self.closes_at <= now and self.due_at <= now
        return started and not closed and not self.done


@dataclass
class Assignments:
    """The programme's assignments in due order, with each cadre's work on them."""

    rows: list[Assignment] = field(default_factory=list)
    work: dict[tuple[int, int], WorkFact] = field(default_factory=dict)

    def of(self, person_id: int) -> list[WorkFact]:
        return [self.work[(a.id, person_id)] for a in self.rows if (a.id, person_id) in self.work]


async def work_facts(
    session: AsyncSession, programme_id: str, person_ids: list[int]
) -> Assignments:
    assignments = list(
        await session.scalars(
            select(Assignment)
            .where(Assignment.programme_id == programme_id)
            .order_by(Assignment.due_at, Assignment.id)
        )
    )
    result = Assignments(assignments)
    if not assignments or not person_ids:
        return result
    ids = [a.id for a in assignments]
    extensions = {
        (e.assignment_id, e.person_id): e.due_at
        for e in await session.scalars(select(Extension).where(Extension.assignment_id.in_(ids)))
    }
    latest: dict[tuple[int, int], Submission] = {}
    for submission in await session.scalars(
        select(Submission).where(
            Submission.assignment_id.in_(ids), Submission.person_id.in_(person_ids)
        )
    ):
        key = (submission.assignment_id, submission.person_id)
        if key not in latest or submission.version > latest[key].version:
            latest[key] = submission
    for assignment in assignments:
        for person_id in person_ids:
            due = extensions.get((assignment.id, person_id), assignment.due_at)
            submitted = latest.get((assignment.id, person_id))
            result.work[(assignment.id, person_id)] = WorkFact(
                assignment.id,
                assignment.key,
                assignment.title_zh,
                assignment.title_en,
                person_id,
                due,
                assignment.opens_at,
                assignment.closes_at,
                assignment.timezone,
                due != assignment.due_at,
                submitted.version if submitted else None,
                submitted.review_status if submitted else None,
                submitted.submitted_at if submitted else None,
                submitted.is_late if submitted else False,
                submitted.score if submitted else None,
            )
    return result


async def phases_of(session: AsyncSession, programme_id: str) -> list[Phase]:
    return list(
        await session.scalars(
            select(Phase).where(Phase.programme_id == programme_id).order_by(Phase.starts_on)
        )
    )


def phase_on(phases: list[Phase], day: date) -> Phase | None:
    return next((p for p in phases if p.starts_on <= day <= p.ends_on), None)


@dataclass(frozen=True)
class Silence:
    """A cadre who has not answered for SILENT_AFTER and has missed check-ins since."""

    since: datetime | None  # the last answer; None: never answered
    missed: int


def silence(
    person: Person,
    runs: list[RunFact],
    last_answer: datetime | None,
    away: list[tuple[date, date]],
    now: datetime,
) -> Silence | None:
    """Silent: no answer for SILENT_AFTER (or ever, once enrolled that long) and at least one
    check-in closed unanswered since the last answer, on a day they were not excused."""
    quiet_since = last_answer or person.enrolled_at
    if person.enrolled_at is None or quiet_since is None or now - quiet_since < SILENT_AFTER:
        return None
    missed = [
        r
        for r in runs
        if r.person_id == person.id
        and r.state is not RunState.COMPLETED
        and r.closes_at <= now
        and (last_answer is None or r.slot_at > last_answer)
        and not is_absent(away, r.slot_date)
    ]
    if not missed:
        return None
    return Silence(last_answer, len(missed))


@dataclass(frozen=True)
class Standing:
    """Where one cadre stands now: the line /cohort shows for them."""

    person_id: int
    name: str
    timezone: str
    phase_zh: str | None
    phase_en: str | None
    last_run: RunFact | None
    open_work: int
    overdue_work: int
    alert: bool
    escalated: bool
    unreachable: bool
    absent: bool
    silent: Silence | None
    enrolled: bool

    @property
    def needs_attention(self) -> bool:
        return self.alert or self.escalated or self.unreachable or self.silent is not None


# How far back /cohort looks for the last check-in and a recent alert.
LOOKBACK = timedelta(days=14)


async def cohort_standings(
    session: AsyncSession, programme_id: str, now: datetime
) -> list[Standing]:
    """Every cadre of the cohort, those needing attention first, then in roster order."""
    programme = await session.get_one(Programme, programme_id)
    people = await cohort_people(session, programme_id)
    ids = [p.id for p in people]
    since = local_day(now - LOOKBACK, programme.host_timezone) - timedelta(days=1)
    runs = await run_facts(session, ids, since, now)
    away = await absences_of(session, ids, since)
    answered = await latest_answers(session, ids)
    work = await work_facts(session, programme_id, ids)
    phases = await phases_of(session, programme_id)
    standings = []
    for person in people:
        zone_name = zone_of(person, programme)
        today = local_day(now, zone_name)
        mine = [r for r in runs if r.person_id == person.id]
        last = mine[-1] if mine else None
        completed = [r for r in mine if r.state is RunState.COMPLETED]
        phase = phase_on(phases, today)
        tasks = [w for w in work.of(person.id) if w.is_open(now)]
        standings.append(
            Standing(
                person.id,
                person.name,
                zone_name,
                phase.title_zh if phase else None,
                phase.title_en if phase else None,
                last,
                len(tasks),
                sum(w.due_at <= now for w in tasks),
                bool(completed and completed[-1].alerts),
                last is not None
                and last.escalated_at is not None
                and last.state is not RunState.COMPLETED,
                person.unreachable_at is not None,
                is_absent(away.get(person.id, []), today),
                silence(person, runs, answered.get(person.id), away.get(person.id, []), now),
                person.enrolled_at is not None,
            )
        )
    standings.sort(key=lambda s: not s.needs_attention)
    return standings


async def cohort_overview(db: Database, actor: Actor, now: datetime) -> list[Standing]:
    """/cohort: staff of the programme only."""
    require_staff(actor)
    async with db.read() as session:
        return await cohort_standings(session, actor.programme_id, now)
