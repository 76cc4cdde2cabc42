"""Checking and loading a programme definition file: all or nothing, idempotent by key."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.programmes.document import (
    DocumentError,
    Loc,
    Problem,
    read_document,
    validation_problems,
)
from liaison.services.programmes.schema import AlertRule, ProgrammeFile, QuestionDef
from liaison.services.programmes.selection import check_selection, selection_settings
from liaison.services.programmes.settings import (
    DigestSettings,
    ProgrammeSettings,
    ReminderSettings,
    SubmissionNotices,
)
from liaison.services.timezones import NonexistentLocalTime, local_to_utc
from liaison.storage.database import Database
from liaison.storage.enums import AssignmentKind, Audience, Location, QuestionKind, SessionKind
from liaison.storage.models import (
    Assignment,
    Phase,
    Programme,
    Session,
    Submission,
    Survey,
    SurveyQuestion,
)


@dataclass(frozen=True)
class PlannedSession:
    key: str
    phase: str | None
    kind: SessionKind
    title_zh: str
    title_en: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    place: str | None
    audience: Audience | None = None


@dataclass(frozen=True)
class PlannedAssignment:
    key: str
    kind: AssignmentKind
    phase: str | None
    title_zh: str
    title_en: str
    description_zh: str | None
    description_en: str | None
    opens_at: datetime | None
    due_at: datetime
    closes_at: datetime | None
    timezone: str
    formats: list[str]
    audience: Audience | None
    rubric: list[dict[str, Any]]


@dataclass
class ProgrammePlan:
    """A validated programme with every local time resolved to a UTC instant."""

    definition: ProgrammeFile
    sha256: str
    sessions: list[PlannedSession] = field(default_factory=list)
    assignments: list[PlannedAssignment] = field(default_factory=list)


@dataclass(frozen=True)
class LoadResult:
    programme_id: str
    created: bool
    counts: dict[str, int]
    removed: dict[str, int]


def _duplicates(doc_problem: Any, items: list[Any], loc: Loc, label: str) -> list[Problem]:
    seen = Counter(item.key for item in items)
    return [
        doc_problem((*loc, index, "key"), f"duplicate {label} key {item.key!r}")
        for index, item in enumerate(items)
        if seen[item.key] > 1
    ]


def _check_alert(rule: AlertRule, question: QuestionDef | None) -> str | None:
    if question is None:
        return f"no question {rule.question!r} in this survey"
    if question.kind is QuestionKind.SCALE:
        if not isinstance(rule.value, int) or isinstance(rule.value, bool):
            return "a scale alert needs a number from 1 to 5"
        if not 1 <= rule.value <= 5:
            return "a scale alert needs a number from 1 to 5"
    elif question.kind is QuestionKind.YES_NO:
        if not isinstance(rule.value, bool) or rule.op not in ("==", "!="):
            return "a yes/no alert needs op == or != and value true or false"
    elif question.kind is QuestionKind.CHOICE:
        keys = {option.key for option in question.options}
        if rule.op not in ("==", "!=") or rule.value not in keys:
            return f"a choice alert needs op == or != and one of: {', '.join(sorted(keys))}"
    else:
        return "alerts apply to scale, yes/no and choice questions only"
    return None


def plan_programme(path: Path) -> ProgrammePlan:
    """Validates a programme file; raises DocumentError listing every problem with its line."""
    doc = read_document(path)
    if not isinstance(doc.data, dict):
        raise DocumentError([doc.problem((), "expected a mapping with programme, phases, ...")])
    try:
        definition = ProgrammeFile.model_validate(doc.data)
    except ValidationError as exc:
        raise DocumentError(validation_problems(doc, exc)) from None

    problems: list[Problem] = []
    problems += _duplicates(doc.problem, definition.phases, ("phases",), "phase")
    problems += _duplicates(doc.problem, definition.sessions, ("sessions",), "session")
    problems += _duplicates(doc.problem, definition.assignments, ("assignments",), "assignment")
    problems += _duplicates(doc.problem, definition.surveys, ("surveys",), "survey")

    info = definition.programme
    phases = {phase.key: phase for phase in definition.phases}
    for index, phase in enumerate(definition.phases):
        if phase.end < phase.start:
            problems.append(doc.problem(("phases", index, "end"), "ends before it starts"))

    def zone_for(explicit: str | None, phase_key: str | None) -> str:
        if explicit:
            return explicit
        phase = phases.get(phase_key) if phase_key else None
        if phase is not None and phase.location is Location.HOME:
            return info.home_timezone
        return info.host_timezone

    def resolve(naive: datetime, zone_name: str, loc: Loc) -> datetime | None:
        try:
            return local_to_utc(naive, zone_name)
        except NonexistentLocalTime as exc:
            problems.append(doc.problem(loc, str(exc)))
            return None

    plan = ProgrammePlan(definition, hashlib.sha256(path.read_bytes()).hexdigest())
    for index, item in enumerate(definition.sessions):
        loc: Loc = ("sessions", index)
        if item.phase and item.phase not in phases:
            problems.append(doc.problem((*loc, "phase"), f"no phase {item.phase!r}"))
        zone_name = zone_for(item.timezone, item.phase)
        end_local = (
            datetime.combine(item.start.date(), item.end)
            if isinstance(item.end, time)
            else item.end
        )
        starts = resolve(item.start, zone_name, (*loc, "start"))
        ends = resolve(end_local, zone_name, (*loc, "end"))
        if starts and ends and ends <= starts:
            problems.append(doc.problem((*loc, "end"), "must be after start"))
        if starts and ends:
            plan.sessions.append(
                PlannedSession(
                    item.key,
                    item.phase,
                    item.kind,
                    item.title.zh,
                    item.title.english(),
                    starts,
                    ends,
                    zone_name,
                    item.place,
                    item.audience,
                )
            )

    for index, task in enumerate(definition.assignments):
        loc = ("assignments", index)
        if task.phase and task.phase not in phases:
            problems.append(doc.problem((*loc, "phase"), f"no phase {task.phase!r}"))
        zone_name = zone_for(task.timezone, task.phase)
        due = resolve(task.due, zone_name, (*loc, "due"))
        opens = resolve(task.opens, zone_name, (*loc, "opens")) if task.opens else None
        closes = resolve(task.closes, zone_name, (*loc, "closes")) if task.closes else None
        if due and opens and opens >= due:
            problems.append(doc.problem((*loc, "opens"), "must be before due"))
        if due and closes and closes < due:
            problems.append(doc.problem((*loc, "closes"), "must not be before due"))
        problems += _duplicates(doc.problem, task.rubric, (*loc, "rubric"), "criterion")
        if due:
            plan.assignments.append(
                PlannedAssignment(
                    task.key,
                    task.kind,
                    task.phase,
                    task.title.zh,
                    task.title.english(),
                    task.description.zh if task.description else None,
                    task.description.english() if task.description else None,
                    opens,
                    due,
                    closes,
                    zone_name,
                    task.formats,
                    task.audience,
                    [
                        {
                            "key": criterion.key,
                            "zh": criterion.title.zh,
                            "en": criterion.title.english(),
                            "scale": criterion.scale,
                            "weight": criterion.weight,
                        }
                        for criterion in task.rubric
                    ],
                )
            )

    for index, survey in enumerate(definition.surveys):
        loc = ("surveys", index)
        for p_index, phase_key in enumerate(survey.phases):
            if phase_key not in phases:
                problems.append(doc.problem((*loc, "phases", p_index), f"no phase {phase_key!r}"))
        problems += _duplicates(doc.problem, survey.questions, (*loc, "questions"), "question")
        if survey.escalate_after <= survey.remind_after:
            problems.append(
                doc.problem((*loc, "escalate_after"), "must be later than remind_after")
            )
        if survey.window < survey.escalate_after:
            problems.append(doc.problem((*loc, "window"), "must not end before escalate_after"))
        for q_index, question in enumerate(survey.questions):
            q_loc: Loc = (*loc, "questions", q_index)
            if question.kind is QuestionKind.CHOICE and len(question.options) < 2:
                problems.append(doc.problem((*q_loc, "options"), "a choice needs 2 or more"))
            if question.kind is not QuestionKind.CHOICE and question.options:
                problems.append(doc.problem((*q_loc, "options"), "only choice questions have"))
            problems += _duplicates(doc.problem, question.options, (*q_loc, "options"), "option")
        by_key = {question.key: question for question in survey.questions}
        for a_index, rule in enumerate(survey.alerts):
            reason = _check_alert(rule, by_key.get(rule.question))
            if reason:
                problems.append(doc.problem((*loc, "alerts", a_index), reason))

    problems += check_selection(doc, definition)

    if problems:
        raise DocumentError(problems)
    return plan


def _settings_of(definition: ProgrammeFile) -> ProgrammeSettings:
    digest = definition.digest
    return ProgrammeSettings(
        digest=DigestSettings(
            at=digest.at,
            timezone=digest.timezone or definition.programme.home_timezone,
            submissions=SubmissionNotices(digest.submissions),
        ),
        reminders=ReminderSettings(
            before_minutes=[int(d / timedelta(minutes=1)) for d in definition.reminders.before],
            overdue_days=definition.reminders.overdue_days,
        ),
        selection=selection_settings(definition),
    )


async def _by_key(session: AsyncSession, model: Any, programme_id: str) -> dict[str, Any]:
    rows = await session.scalars(select(model).where(model.programme_id == programme_id))
    return {row.key: row for row in rows}


async def apply_plan(session: AsyncSession, plan: ProgrammePlan) -> LoadResult:
    """Writes a plan inside the caller's transaction, updating rows by their keys."""
    definition = plan.definition
    info = definition.programme
    programme = await session.get(Programme, info.id)
    created = programme is None
    if programme is None:
        programme = Programme(id=info.id)
        session.add(programme)
    programme.title_zh = info.title.zh
    programme.title_en = info.title.english()
    programme.home_timezone = info.home_timezone
    programme.host_timezone = info.host_timezone
    programme.default_locale = info.default_locale
    programme.settings = _settings_of(definition).stored()
    programme.source_sha256 = plan.sha256
    await session.flush()

    removed: dict[str, int] = {}
    phases = await _by_key(session, Phase, info.id)
    for item in definition.phases:
        phase = phases.pop(item.key, None) or Phase(programme_id=info.id, key=item.key)
        phase.title_zh, phase.title_en = item.title.zh, item.title.english()
        phase.location = item.location
        phase.starts_on, phase.ends_on = item.start, item.end
        phase.audience = item.audience
        session.add(phase)
    for stale in phases.values():
        await session.delete(stale)
    removed["phases"] = len(phases)
    await session.flush()
    phase_ids = {p.key: p.id for p in (await _by_key(session, Phase, info.id)).values()}

    sessions = await _by_key(session, Session, info.id)
    for planned in plan.sessions:
        row = sessions.pop(planned.key, None) or Session(programme_id=info.id, key=planned.key)
        row.phase_id = phase_ids.get(planned.phase) if planned.phase else None
        row.kind = planned.kind
        row.title_zh, row.title_en = planned.title_zh, planned.title_en
        row.starts_at, row.ends_at = planned.starts_at, planned.ends_at
        row.timezone, row.place = planned.timezone, planned.place
        row.audience = planned.audience
        session.add(row)
    for stale in sessions.values():
        await session.delete(stale)
    removed["sessions"] = len(sessions)

    assignments = await _by_key(session, Assignment, info.id)
    for task in plan.assignments:
        row = assignments.pop(task.key, None) or Assignment(programme_id=info.id, key=task.key)
        row.kind = task.kind
        row.phase_id = phase_ids.get(task.phase) if task.phase else None
        row.title_zh, row.title_en = task.title_zh, task.title_en
        row.description_zh, row.description_en = task.description_zh, task.description_en
        row.opens_at, row.due_at, row.timezone = task.opens_at, task.due_at, task.timezone
        row.closes_at = task.closes_at
        row.formats = task.formats
        row.audience = task.audience
        row.rubric = task.rubric
        session.add(row)
    kept_with_work = 0
    for stale in assignments.values():
        has_work = await session.scalar(
            select(Submission.id).where(Submission.assignment_id == stale.id).limit(1)
        )
        if has_work is None:
            await session.delete(stale)
        else:
            # Submissions are never lost: an assignment with work stays, closed at its due time.
            kept_with_work += 1
    removed["assignments"] = len(assignments) - kept_with_work

    surveys = await _by_key(session, Survey, info.id)
    for survey_def in definition.surveys:
        survey = surveys.pop(survey_def.key, None) or Survey(
            programme_id=info.id, key=survey_def.key
        )
        survey.title_zh, survey.title_en = survey_def.title.zh, survey_def.title.english()
        survey.schedule = {
            "weekdays": list(survey_def.schedule.weekdays),
            "at": survey_def.schedule.at.strftime("%H:%M"),
        }
        survey.phase_keys = list(survey_def.phases)
        survey.window_minutes = int(survey_def.window / timedelta(minutes=1))
        survey.remind_after_minutes = int(survey_def.remind_after / timedelta(minutes=1))
        survey.escalate_after_minutes = int(survey_def.escalate_after / timedelta(minutes=1))
        survey.alert_rules = [rule.model_dump() for rule in survey_def.alerts]
        survey.active = True
        survey.audience = survey_def.audience
        session.add(survey)
        await session.flush()
        existing = {
            q.key: q
            for q in await session.scalars(
                select(SurveyQuestion).where(SurveyQuestion.survey_id == survey.id)
            )
        }
        for position, question in enumerate(survey_def.questions):
            row_q = existing.pop(question.key, None) or SurveyQuestion(
                survey_id=survey.id, key=question.key
            )
            row_q.position = position
            row_q.kind = question.kind
            row_q.text_zh, row_q.text_en = question.text.zh, question.text.english()
            row_q.options = [
                {"key": o.key, "zh": o.zh, "en": o.en or o.zh} for o in question.options
            ]
            row_q.optional = question.optional
            session.add(row_q)
        for stale_q in existing.values():
            await session.delete(stale_q)
    for stale_survey in surveys.values():
        # Runs and answers of a dropped survey are history; it only stops being planned.
        stale_survey.active = False
    removed["surveys"] = len(surveys)
    await session.flush()

    counts = {
        "phases": len(definition.phases),
        "sessions": len(plan.sessions),
        "assignments": len(plan.assignments),
        "surveys": len(definition.surveys),
        "tests": len(definition.selection.tests),
    }
    await record(
        session,
        "programme.loaded",
        programme_id=info.id,
        details={"sha256": plan.sha256, "created": created, **counts},
    )
    return LoadResult(info.id, created, counts, removed)


async def load_programme(db: Database, path: Path) -> LoadResult:
    """Validates then writes a programme in one transaction; nothing is written on error."""
    plan = plan_programme(path)
    async with db.transaction() as session:
        return await apply_plan(session, plan)
