"""A programme's whole record as typed rows: what the workbook (and later reports) are made of.

One read, a handful of queries, no formatting: instants stay aware UTC, codes stay
enum members, bilingual texts keep both sides. The renderers in ui/ choose the reader's
language and zone. A new kind of data (rubric scores, selection results) becomes a field
here and a column in ui/workbook.py.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.checkins.alerts import Triggered, evaluate_alerts
from liaison.services.checkins.views import Answer, Question, RunView
from liaison.services.exports.errors import UnknownProgramme
from liaison.services.selection.figures import SelectionFigures, selection_figures
from liaison.storage.database import Database
from liaison.storage.enums import (
    AssignmentKind,
    PersonStatus,
    ReviewStatus,
    Role,
    RunState,
    SessionKind,
)
from liaison.storage.models import (
    Absence,
    Assignment,
    AuditEvent,
    Extension,
    Person,
    Phase,
    Programme,
    Session,
    StoredFile,
    Submission,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRun,
)


@dataclass(frozen=True)
class ProgrammeInfo:
    id: str
    title_zh: str
    title_en: str
    home_timezone: str
    host_timezone: str
    default_locale: str


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    unit: str | None
    position: str | None
    phone: str
    email: str | None
    role: Role
    status: PersonStatus
    locale: str | None
    timezone: str | None
    # Selection data as the roster holds it today.
    test_batch: int | None
    english_score: float | None
    bft_level: str | None
    notes: str | None
    enrolled_at: datetime | None
    unreachable_at: datetime | None


@dataclass(frozen=True)
class SessionRow:
    key: str
    kind: SessionKind
    title_zh: str
    title_en: str
    phase_zh: str | None
    phase_en: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    place: str | None


@dataclass(frozen=True)
class QuestionColumn:
    """One question of one survey: a column of the check-ins sheet."""

    survey_key: str
    survey_title_zh: str
    survey_title_en: str
    question: Question


@dataclass(frozen=True)
class CheckinRow:
    run_id: int
    person_id: int
    person_name: str
    survey_key: str
    survey_title_zh: str
    survey_title_en: str
    slot_at: datetime
    timezone: str
    closes_at: datetime
    state: RunState
    started_at: datetime | None
    completed_at: datetime | None
    reminded_at: datetime | None
    escalated_at: datetime | None
    answers: dict[str, Answer]
    notes: str | None

    @property
    def answered_after(self) -> timedelta | None:
        """How long after the slot the cadre confirmed: the lateness of a completed run."""
        return self.completed_at - self.slot_at if self.completed_at is not None else None


@dataclass(frozen=True)
class AlertRow:
    run_id: int
    person_name: str
    survey_title_zh: str
    survey_title_en: str
    slot_at: datetime
    timezone: str
    question: Question
    triggered: Triggered


@dataclass(frozen=True)
class SubmissionRow:
    id: int
    person_id: int
    person_name: str
    assignment_key: str
    assignment_kind: AssignmentKind
    assignment_title_zh: str
    assignment_title_en: str
    version: int
    title: str | None
    abstract: str | None
    text: str | None
    files: int
    submitted_at: datetime
    due_at: datetime
    is_late: bool
    review_status: ReviewStatus
    score: float | None
    feedback: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None


@dataclass(frozen=True)
class AbsenceRow:
    person_name: str
    starts_on: date
    ends_on: date
    reason: str | None
    set_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class ExtensionRow:
    person_name: str
    assignment_key: str
    assignment_title_zh: str
    assignment_title_en: str
    due_at: datetime
    extended_to: datetime
    timezone: str
    granted_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str | None
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class ProgrammeRecord:
    programme: ProgrammeInfo
    generated_at: datetime
    people: list[PersonRow] = field(default_factory=list)
    sessions: list[SessionRow] = field(default_factory=list)
    questions: list[QuestionColumn] = field(default_factory=list)
    checkins: list[CheckinRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    submissions: list[SubmissionRow] = field(default_factory=list)
    absences: list[AbsenceRow] = field(default_factory=list)
    extensions: list[ExtensionRow] = field(default_factory=list)
    audit: list[AuditRow] = field(default_factory=list)
    figures: SelectionFigures | None = None

    @property
    def notes(self) -> list[CheckinRow]:
        """Runs with organizers' notes of a real call."""
        return [run for run in self.checkins if run.notes]


PARTITION = 2000
ROLE_ORDER = {Role.CADRE: 0, Role.ORGANIZER: 1, Role.OBSERVER: 2}


async def programme_info(session: AsyncSession, programme_id: str) -> ProgrammeInfo:
    programme = await session.get(Programme, programme_id)
    if programme is None:
        raise UnknownProgramme(programme_id)
    return ProgrammeInfo(
        programme.id,
        programme.title_zh,
        programme.title_en,
        programme.home_timezone,
        programme.host_timezone,
        programme.default_locale,
    )


async def gather_record(db: Database, programme_id: str, now: datetime) -> ProgrammeRecord:
    """Everything the programme holds today, read in one session."""
    async with db.read() as session:
        record = ProgrammeRecord(await programme_info(session, programme_id), now)
        people = list(
            await session.scalars(select(Person).where(Person.programme_id == programme_id))
        )
        people.sort(key=lambda p: (ROLE_ORDER[p.role], p.id))
        names = {p.id: p.name for p in people}
        record.people.extend(_person_row(p) for p in people)
        record.sessions.extend(await gather_sessions(session, programme_id))
        await _checkins(session, programme_id, names, record)
        await _submissions(session, programme_id, names, record)
        await _leave(session, programme_id, names, record)
        events = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.programme_id == programme_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        record.audit.extend(
            AuditRow(e.at, names.get(e.actor_person_id or 0), e.action, dict(e.details))
            for e in events
        )
    return replace(record, figures=await selection_figures(db, programme_id))


def _person_row(p: Person) -> PersonRow:
    return PersonRow(
        p.id,
        p.name,
        p.unit,
        p.position,
        p.phone,
        p.email,
        p.role,
        p.status,
        p.locale,
        p.timezone,
        p.test_batch,
        p.english_score,
        p.bft_level,
        p.notes,
        p.enrolled_at,
        p.unreachable_at,
    )


async def gather_sessions(session: AsyncSession, programme_id: str) -> list[SessionRow]:
    """The schedule in time order, each item with its phase's titles."""
    found: list[SessionRow] = []
    phases = {
        p.id: p
        for p in await session.scalars(select(Phase).where(Phase.programme_id == programme_id))
    }
    rows = await session.scalars(
        select(Session)
        .where(Session.programme_id == programme_id)
        .order_by(Session.starts_at, Session.id)
    )
    for s in rows:
        phase = phases.get(s.phase_id) if s.phase_id is not None else None
        found.append(
            SessionRow(
                s.key,
                s.kind,
                s.title_zh,
                s.title_en,
                phase.title_zh if phase else None,
                phase.title_en if phase else None,
                s.starts_at,
                s.ends_at,
                s.timezone,
                s.place,
            )
        )
    return found


async def _checkins(
    session: AsyncSession, programme_id: str, names: dict[int, str], record: ProgrammeRecord
) -> None:
    surveys = {
        s.id: s
        for s in await session.scalars(
            select(Survey).where(Survey.programme_id == programme_id).order_by(Survey.id)
        )
    }
    questions: dict[int, list[Question]] = defaultdict(list)
    for q in await session.scalars(
        select(SurveyQuestion)
        .where(SurveyQuestion.survey_id.in_(surveys))
        .order_by(SurveyQuestion.survey_id, SurveyQuestion.position)
    ):
        questions[q.survey_id].append(
            Question(q.position, q.key, q.kind, q.text_zh, q.text_en, list(q.options), q.optional)
        )
    for survey_id, survey in surveys.items():
        record.questions.extend(
            QuestionColumn(survey.key, survey.title_zh, survey.title_en, q)
            for q in questions[survey_id]
        )
    # Columns, not ORM objects, streamed in partitions: a large cohort has tens of
    # thousands of answers, and building them must not hold the event loop for long.
    answers: dict[int, dict[str, Answer]] = defaultdict(dict)
    answer_rows = await session.stream(
        select(
            SurveyAnswer.run_id,
            SurveyAnswer.question_key,
            SurveyAnswer.value,
            SurveyAnswer.skipped,
            SurveyAnswer.file_id,
        )
        .join(SurveyRun, SurveyRun.id == SurveyAnswer.run_id)
        .where(SurveyRun.survey_id.in_(surveys))
    )
    async for partition in answer_rows.partitions(PARTITION):
        for run_id, key, value, skipped, file_id in partition:
            answers[run_id][key] = Answer(value, skipped, file_id is not None)
        await asyncio.sleep(0)
    run_rows = await session.stream(
        select(
            SurveyRun.id,
            SurveyRun.survey_id,
            SurveyRun.person_id,
            SurveyRun.slot_at,
            SurveyRun.timezone,
            SurveyRun.closes_at,
            SurveyRun.state,
            SurveyRun.started_at,
            SurveyRun.completed_at,
            SurveyRun.reminded_at,
            SurveyRun.escalated_at,
            SurveyRun.notes,
            SurveyRun.current_question,
            SurveyRun.editing,
        )
        .where(SurveyRun.survey_id.in_(surveys), SurveyRun.person_id.in_(names))
        .order_by(SurveyRun.slot_at, SurveyRun.person_id, SurveyRun.id)
    )
    async for partition in run_rows.partitions(PARTITION):
        for run in partition:
            _add_run(record, run, surveys[run.survey_id], names, questions, answers)
        await asyncio.sleep(0)


def _add_run(
    record: ProgrammeRecord,
    run: Any,
    survey: Survey,
    names: dict[int, str],
    questions: dict[int, list[Question]],
    answers: dict[int, dict[str, Answer]],
) -> None:
    """One run's row, and its alerts when it was completed."""
    row = CheckinRow(
        run.id,
        run.person_id,
        names[run.person_id],
        survey.key,
        survey.title_zh,
        survey.title_en,
        run.slot_at,
        run.timezone,
        run.closes_at,
        run.state,
        run.started_at,
        run.completed_at,
        run.reminded_at,
        run.escalated_at,
        answers[run.id],
        run.notes,
    )
    record.checkins.append(row)
    if run.state is not RunState.COMPLETED:
        return
    view = RunView(
        run.id,
        run.person_id,
        row.person_name,
        run.state,
        survey.title_zh,
        survey.title_en,
        run.slot_at,
        run.closes_at,
        run.timezone,
        questions[survey.id],
        run.current_question,
        run.editing,
        answers[run.id],
    )
    by_key = {q.key: q for q in questions[survey.id]}
    record.alerts.extend(
        AlertRow(
            run.id,
            row.person_name,
            survey.title_zh,
            survey.title_en,
            run.slot_at,
            run.timezone,
            by_key[triggered.question_key],
            triggered,
        )
        for triggered in evaluate_alerts(list(survey.alert_rules), view)
    )


async def _submissions(
    session: AsyncSession, programme_id: str, names: dict[int, str], record: ProgrammeRecord
) -> None:
    assignments = {
        a.id: a
        for a in await session.scalars(
            select(Assignment).where(Assignment.programme_id == programme_id)
        )
    }
    extended = {
        (e.assignment_id, e.person_id): e.due_at
        for e in await session.scalars(
            select(Extension).where(Extension.assignment_id.in_(assignments))
        )
    }
    file_counts = dict(
        (
            await session.execute(
                select(StoredFile.submission_id, func.count(StoredFile.id))
                .join(Submission, Submission.id == StoredFile.submission_id)
                .where(Submission.assignment_id.in_(assignments))
                .group_by(StoredFile.submission_id)
            )
        )
        .tuples()
        .all()
    )
    rows = await session.scalars(
        select(Submission)
        .where(Submission.assignment_id.in_(assignments))
        .order_by(Submission.person_id, Submission.assignment_id, Submission.version)
    )
    for s in rows:
        assignment = assignments[s.assignment_id]
        record.submissions.append(
            SubmissionRow(
                s.id,
                s.person_id,
                names.get(s.person_id, "?"),
                assignment.key,
                assignment.kind,
                assignment.title_zh,
                assignment.title_en,
                s.version,
                s.title,
                s.abstract,
                s.text,
                int(file_counts.get(s.id, 0)),
                s.submitted_at,
                extended.get((assignment.id, s.person_id), assignment.due_at),
                s.is_late,
                s.review_status,
                s.score,
                s.feedback,
                names.get(s.reviewed_by_id) if s.reviewed_by_id is not None else None,
                s.reviewed_at,
            )
        )


async def _leave(
    session: AsyncSession, programme_id: str, names: dict[int, str], record: ProgrammeRecord
) -> None:
    absences = await session.scalars(
        select(Absence)
        .where(Absence.person_id.in_(names))
        .order_by(Absence.starts_on, Absence.person_id)
    )
    record.absences.extend(
        AbsenceRow(
            names[a.person_id],
            a.starts_on,
            a.ends_on,
            a.reason,
            names.get(a.created_by_id) if a.created_by_id is not None else None,
            a.created_at,
        )
        for a in absences
    )
    rows = await session.execute(
        select(Extension, Assignment)
        .join(Assignment, Assignment.id == Extension.assignment_id)
        .where(Assignment.programme_id == programme_id)
        .order_by(Assignment.due_at, Extension.person_id)
    )
    record.extensions.extend(
        ExtensionRow(
            names.get(e.person_id, "?"),
            a.key,
            a.title_zh,
            a.title_en,
            a.due_at,
            e.due_at,
            a.timezone,
            names.get(e.granted_by_id) if e.granted_by_id is not None else None,
            e.created_at,
        )
        for e, a in rows.tuples()
    )
