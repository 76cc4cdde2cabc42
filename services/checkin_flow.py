"""The check-in conversation: one question at a time, its state kept in the database.

Every step loads the run, checks it belongs to the person and is still open, changes
it and commits, so a restart between two answers resumes at the same question.
"""

from __future__ import annotations

import operator
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.errors import DomainError
from liaison.services.outbox import Planned, enqueue
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, RunState
from liaison.storage.models import Person, Survey, SurveyAnswer, SurveyQuestion, SurveyRun
from liaison.storage.queries import reachable_staff

OPEN = (
    RunState.DUE,
    RunState.SENT,
    RunState.IN_PROGRESS,
    RunState.ESCALATED,
)
YES_WORDS = {"yes", "y", "是", "是的", "对", "有", "需要", "好"}
NO_WORDS = {"no", "n", "否", "不", "不是", "没有", "不需要", "无"}


class NoOpenRun(DomainError):
    code = "no_open_run"


class RunClosed(DomainError):
    code = "run_closed"


class NotYourRun(DomainError):
    code = "not_your_run"


class StaleQuestion(DomainError):
    """A button for a question that is no longer the current one (e.g. a double tap)."""

    code = "stale_question"


class InvalidAnswer(DomainError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Question:
    index: int
    key: str
    kind: str
    text_zh: str
    text_en: str
    options: list[dict[str, str]]
    optional: bool


@dataclass(frozen=True)
class Answer:
    value: str | None
    skipped: bool
    has_file: bool


@dataclass(frozen=True)
class RunView:
    run_id: int
    person_id: int
    person_name: str
    state: str
    survey_title_zh: str
    survey_title_en: str
    slot_at: datetime
    closes_at: datetime
    timezone: str
    questions: list[Question]
    current: int
    editing: bool
    answers: dict[str, Answer]

    @property
    def at_summary(self) -> bool:
        return self.current >= len(self.questions)

    def is_open(self, now: datetime) -> bool:
        """Can still be answered: not completed or missed, and the window has not closed."""
        return self.state in OPEN and self.closes_at > now

    @property
    def question(self) -> Question | None:
        return None if self.at_summary else self.questions[self.current]


@dataclass(frozen=True)
class Triggered:
    question_key: str
    op: str
    threshold: Any
    value: str


@dataclass(frozen=True)
class Confirmed:
    view: RunView
    alerts: list[Triggered]


async def _view(session: AsyncSession, run: SurveyRun) -> RunView:
    survey = await session.get_one(Survey, run.survey_id)
    person = await session.get_one(Person, run.person_id)
    questions = [
        Question(q.position, q.key, q.kind, q.text_zh, q.text_en, list(q.options), q.optional)
        for q in await session.scalars(
            select(SurveyQuestion)
            .where(SurveyQuestion.survey_id == survey.id)
            .order_by(SurveyQuestion.position)
        )
    ]
    answers = {
        a.question_key: Answer(a.value, a.skipped, a.file_id is not None)
        for a in await session.scalars(select(SurveyAnswer).where(SurveyAnswer.run_id == run.id))
    }
    return RunView(
        run.id,
        person.id,
        person.name,
        run.state,
        survey.title_zh,
        survey.title_en,
        run.slot_at,
        run.closes_at,
        run.timezone,
        questions,
        run.current_question,
        run.editing,
        answers,
    )


async def view_run(db: Database, run_id: int) -> RunView:
    async with db.read() as session:
        return await _view(session, await session.get_one(SurveyRun, run_id))


async def _load(session: AsyncSession, run_id: int, person_id: int, now: datetime) -> SurveyRun:
    run = await session.get(SurveyRun, run_id, with_for_update=True)
    if run is None or run.person_id != person_id:
        raise NotYourRun()
    if run.state == RunState.COMPLETED:
        raise RunClosed("completed")
    if run.state in OPEN and run.closes_at <= now:
        raise RunClosed("expired")
    if run.state not in OPEN:
        raise RunClosed(run.state)
    return run


@asynccontextmanager
async def _step(
    db: Database, run_id: int, person_id: int, now: datetime
) -> AsyncIterator[tuple[AsyncSession, SurveyRun]]:
    """One step of a run in one transaction; a late step marks the run missed, then refuses."""
    try:
        async with db.transaction() as session:
            yield session, await _load(session, run_id, person_id, now)
    except RunClosed as closed:
        if str(closed) == "expired":
            async with db.transaction() as session:
                run = await session.get_one(SurveyRun, run_id)
                if run.state in OPEN:
                    run.state = RunState.MISSED
                    await record(
                        session,
                        "checkin.missed",
                        actor_person_id=person_id,
                        details={"run_id": run_id, "reason": "late_answer"},
                        at=now,
                    )
        raise


async def open_run(db: Database, person_id: int, now: datetime) -> RunView | None:
    """The person's latest run that can still be answered, if any."""
    async with db.read() as session:
        run = await session.scalar(
            select(SurveyRun)
            .where(
                SurveyRun.person_id == person_id,
                SurveyRun.state.in_(OPEN),
                SurveyRun.closes_at > now,
            )
            .order_by(SurveyRun.slot_at.desc())
            .limit(1)
        )
        return await _view(session, run) if run else None


async def start(db: Database, person_id: int, now: datetime, run_id: int | None = None) -> RunView:
    """Starts or resumes a run: the one named, else the person's open one (/checkin)."""
    if run_id is None:
        current = await open_run(db, person_id, now)
        if current is None:
            raise NoOpenRun()
        run_id = current.run_id
    async with _step(db, run_id, person_id, now) as (session, run):
        if run.state != RunState.ESCALATED:
            run.state = RunState.IN_PROGRESS
        run.started_at = run.started_at or now
        return await _view(session, run)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def parse_answer(question: Question, raw: str | None, *, has_file: bool = False) -> str | None:
    """Checks one answer against its question; returns the value to store."""
    if question.kind in ("text", "voice_or_text"):
        if has_file:
            return raw
        if raw is None or not raw.strip():
            raise InvalidAnswer("empty")
        return raw
    if raw is None:
        raise InvalidAnswer("use_buttons")
    text = _normalise(raw)
    if question.kind == "scale":
        if text in {"1", "2", "3", "4", "5"}:
            return text
        raise InvalidAnswer("scale")
    if question.kind == "yes_no":
        if text in YES_WORDS:
            return "yes"
        if text in NO_WORDS:
            return "no"
        raise InvalidAnswer("yes_no")
    if question.kind == "choice":
        for index, option in enumerate(question.options):
            names = {
                str(index),
                option["key"].lower(),
                _normalise(option["zh"]),
                _normalise(option["en"]),
            }
            if text in names:
                return option["key"]
        raise InvalidAnswer("use_buttons")
    raise InvalidAnswer("unknown_kind")


async def _store(
    session: AsyncSession,
    run: SurveyRun,
    key: str,
    value: str | None,
    *,
    skipped: bool,
    file_id: int | None,
    message_id: int | None,
    now: datetime,
) -> None:
    existing = await session.scalar(
        select(SurveyAnswer).where(SurveyAnswer.run_id == run.id, SurveyAnswer.question_key == key)
    )
    answer = existing or SurveyAnswer(run_id=run.id, question_key=key)
    answer.value, answer.skipped, answer.file_id = value, skipped, file_id
    answer.message_id, answer.answered_at = message_id, now
    session.add(answer)


def _current(view: RunView, run: SurveyRun, question_index: int) -> Question:
    """The question a button or message is for, if it is still the one being asked."""
    if question_index != run.current_question or view.at_summary:
        raise StaleQuestion()
    return view.questions[question_index]


def _advance(run: SurveyRun, count: int) -> None:
    if run.editing:
        run.current_question = count
        run.editing = False
    else:
        run.current_question = min(run.current_question + 1, count)


async def answer(
    db: Database,
    person_id: int,
    run_id: int,
    question_index: int,
    raw: str | None,
    now: datetime,
    *,
    file_id: int | None = None,
    message_id: int | None = None,
) -> RunView:
    """Records the answer to the current question and moves on (or back to the summary)."""
    async with _step(db, run_id, person_id, now) as (session, run):
        view = await _view(session, run)
        question = _current(view, run, question_index)
        value = parse_answer(question, raw, has_file=file_id is not None)
        await _store(
            session,
            run,
            question.key,
            value,
            skipped=False,
            file_id=file_id,
            message_id=message_id,
            now=now,
        )
        if run.state == RunState.DUE or run.state == RunState.SENT:
            run.state = RunState.IN_PROGRESS
        _advance(run, len(view.questions))
        await session.flush()
        return await _view(session, run)


async def skip(
    db: Database, person_id: int, run_id: int, question_index: int, now: datetime
) -> RunView:
    async with _step(db, run_id, person_id, now) as (session, run):
        view = await _view(session, run)
        question = _current(view, run, question_index)
        if not question.optional:
            raise InvalidAnswer("not_optional")
        await _store(
            session, run, question.key, None, skipped=True, file_id=None, message_id=None, now=now
        )
        _advance(run, len(view.questions))
        await session.flush()
        return await _view(session, run)


async def back(
    db: Database, person_id: int, run_id: int, question_index: int, now: datetime
) -> RunView:
    """Goes back to the previous question to change its answer."""
    async with _step(db, run_id, person_id, now) as (session, run):
        if question_index != run.current_question or run.current_question == 0:
            raise StaleQuestion()
        run.current_question -= 1
        run.editing = False
        return await _view(session, run)


async def edit(
    db: Database, person_id: int, run_id: int, question_index: int, now: datetime
) -> RunView:
    """From the summary, re-asks one question; after it the summary comes back."""
    async with _step(db, run_id, person_id, now) as (session, run):
        view = await _view(session, run)
        if not view.at_summary or not 0 <= question_index < len(view.questions):
            raise StaleQuestion()
        run.current_question = question_index
        run.editing = True
        return await _view(session, run)


async def replace_edited(
    db: Database, person_id: int, message_id: int, text: str, now: datetime
) -> RunView | None:
    """An edited text answer replaces the stored one while the run is not confirmed."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(SurveyAnswer, SurveyRun)
                .join(SurveyRun, SurveyRun.id == SurveyAnswer.run_id)
                .where(SurveyAnswer.message_id == message_id, SurveyRun.person_id == person_id)
            )
        ).first()
        if row is None:
            return None
        stored, run = row
        run = await _load(session, run.id, person_id, now)
        view = await _view(session, run)
        question = next(q for q in view.questions if q.key == stored.question_key)
        stored.value = parse_answer(question, text)
        stored.answered_at = now
        await session.flush()
        return await _view(session, run)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}


def evaluate_alerts(rules: list[dict[str, Any]], view: RunView) -> list[Triggered]:
    kinds = {q.key: q.kind for q in view.questions}
    triggered: list[Triggered] = []
    for rule in rules:
        stored = view.answers.get(rule["question"])
        if stored is None or stored.skipped or stored.value is None:
            continue
        kind = kinds.get(rule["question"])
        value: Any = stored.value
        if kind == "scale":
            value = int(value)
        elif kind == "yes_no":
            value = value == "yes"
        if _OPS[rule["op"]](value, rule["value"]):
            triggered.append(Triggered(rule["question"], rule["op"], rule["value"], stored.value))
    return triggered


async def confirm(db: Database, person_id: int, run_id: int, now: datetime) -> Confirmed:
    """Completes the run and sends any alert to every organizer at once, via the outbox."""
    async with _step(db, run_id, person_id, now) as (session, run):
        view = await _view(session, run)
        if not view.at_summary:
            raise StaleQuestion()
        run.state = RunState.COMPLETED
        run.completed_at = now
        survey = await session.get_one(Survey, run.survey_id)
        alerts = evaluate_alerts(list(survey.alert_rules), view)
        await record(
            session,
            "checkin.completed",
            programme_id=survey.programme_id,
            actor_person_id=person_id,
            details={"run_id": run.id, "alerts": len(alerts)},
            at=now,
        )
        if alerts:
            for organizer in await reachable_staff(session, survey.programme_id):
                await enqueue(
                    session,
                    Planned(
                        f"alert:{run.id}:{organizer.id}",
                        organizer.id,
                        OutboxKind.CHECKIN_ALERT,
                        {"run_id": run.id},
                        now,
                    ),
                )
        await session.flush()
        return Confirmed(await _view(session, run), alerts)


async def alerts_of(db: Database, run_id: int) -> list[Triggered]:
    async with db.read() as session:
        run = await session.get_one(SurveyRun, run_id)
        survey = await session.get_one(Survey, run.survey_id)
        return evaluate_alerts(list(survey.alert_rules), await _view(session, run))


async def prompt_sent(db: Database, run_id: int, now: datetime) -> None:
    """The sender delivered the prompt: a due run becomes sent."""
    async with db.transaction() as session:
        run = await session.get_one(SurveyRun, run_id)
        if run.state == RunState.DUE:
            run.state = RunState.SENT


async def add_note(db: Database, organizer_id: int, run_id: int, text: str, now: datetime) -> str:
    """Stores an organizer's notes of the real call against the run; returns the cadre's name."""
    async with db.transaction() as session:
        run = await session.get(SurveyRun, run_id)
        organizer = await session.get_one(Person, organizer_id)
        if run is None:
            raise NotYourRun()
        cadre = await session.get_one(Person, run.person_id)
        if cadre.programme_id != organizer.programme_id:
            raise NotYourRun()
        entry = f"[{now:%Y-%m-%d %H:%M} UTC] {organizer.name}: {text}"
        run.notes = f"{run.notes}\n{entry}" if run.notes else entry
        organizer.awaiting = None
        await record(
            session,
            "checkin.note",
            programme_id=cadre.programme_id,
            actor_person_id=organizer_id,
            details={"run_id": run_id, "length": len(text)},
            at=now,
        )
        return cadre.name
