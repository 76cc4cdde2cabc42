"""The check-in conversation: one question at a time, its state kept in the database.

Every step loads the run, checks it belongs to the person and is still open, changes
it and commits, so a restart between two answers resumes at the same question. State
changes go through states.move_run, so a step racing the sender or the planner never
overwrites what the other wrote.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.checkins.alerts import Triggered, alert_organizers, evaluate_alerts
from liaison.services.checkins.answers import InvalidAnswer, parse_answer
from liaison.services.checkins.states import OPEN, move_run
from liaison.services.checkins.views import Question, RunView, load_view, open_run
from liaison.services.errors import DomainError
from liaison.services.files.archive import ArchiveChanges, Incoming, archive_changes
from liaison.services.files.quota import check_quota
from liaison.storage.database import Database
from liaison.storage.enums import RunState
from liaison.storage.models import Survey, SurveyAnswer, SurveyRun


class NoOpenRun(DomainError):
    code = "no_open_run"


class RunClosed(DomainError):
    """``str(error)`` says why: completed, expired, or the state it ended in."""

    code = "run_closed"


class NotYourRun(DomainError):
    code = "not_your_run"


class StaleQuestion(DomainError):
    """A button for a question that is no longer the current one (e.g. a double tap)."""

    code = "stale_question"


@dataclass(frozen=True)
class Confirmed:
    view: RunView
    alerts: list[Triggered]


async def _load(session: AsyncSession, run_id: int, person_id: int, now: datetime) -> SurveyRun:
    run = await session.get(SurveyRun, run_id, with_for_update=True)
    if run is None or run.person_id != person_id:
        raise NotYourRun()
    if run.state is RunState.COMPLETED:
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
                if await move_run(session, run_id, RunState.MISSED):
                    await record(
                        session,
                        "checkin.missed",
                        actor_person_id=person_id,
                        details={"run_id": run_id, "reason": "late_answer"},
                        at=now,
                    )
        raise


async def start(db: Database, person_id: int, now: datetime, run_id: int | None = None) -> RunView:
    """Starts or resumes a run: the one named, else the person's open one (/checkin)."""
    if run_id is None:
        current = await open_run(db, person_id, now)
        if current is None:
            raise NoOpenRun()
        run_id = current.run_id
    async with _step(db, run_id, person_id, now) as (session, run):
        # An escalated run stays escalated: the organizers were told, and may still call.
        await move_run(session, run, RunState.IN_PROGRESS, only_from=(RunState.DUE, RunState.SENT))
        if run.started_at is None:
            run.started_at = now
        return await load_view(session, run)


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
    voice: Incoming | None = None,
    data_dir: Path | None = None,
    message_id: int | None = None,
) -> RunView:
    """Records the answer to the current question and moves on (or back to the summary).

    A voice answer is archived in the same use case: its file is kept only if the
    answer's transaction commits.
    """
    async with (
        archive_changes(data_dir) as files,
        _step(db, run_id, person_id, now) as (
            session,
            run,
        ),
    ):
        view = await load_view(session, run)
        question = _current(view, run, question_index)
        file_id = None
        if voice is not None:
            file_id = await _archive_voice(session, files, run, question, voice, now)
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
        await move_run(session, run, RunState.IN_PROGRESS, only_from=(RunState.DUE, RunState.SENT))
        _advance(run, len(view.questions))
        await session.flush()
        return await load_view(session, run)


async def _archive_voice(
    session: AsyncSession,
    files: ArchiveChanges,
    run: SurveyRun,
    question: Question,
    voice: Incoming,
    now: datetime,
) -> int:
    survey = await session.get_one(Survey, run.survey_id)
    await check_quota(session, run.person_id, None, len(voice.data), now)
    stored = await files.store(
        session,
        relative_dir=Path(survey.programme_id) / str(run.person_id) / "checkins" / str(run.id),
        stem=question.key,
        extension="ogg",
        incoming=voice,
        person_id=run.person_id,
        now=now,
    )
    return stored.id


async def skip(
    db: Database, person_id: int, run_id: int, question_index: int, now: datetime
) -> RunView:
    async with _step(db, run_id, person_id, now) as (session, run):
        view = await load_view(session, run)
        question = _current(view, run, question_index)
        if not question.optional:
            raise InvalidAnswer("not_optional")
        await _store(
            session, run, question.key, None, skipped=True, file_id=None, message_id=None, now=now
        )
        _advance(run, len(view.questions))
        await session.flush()
        return await load_view(session, run)


async def back(
    db: Database, person_id: int, run_id: int, question_index: int, now: datetime
) -> RunView:
    """Goes back to the previous question to change its answer."""
    async with _step(db, run_id, person_id, now) as (session, run):
        if question_index != run.current_question or run.current_question == 0:
            raise StaleQuestion()
        run.current_question -= 1
        run.editing = False
        return await load_view(session, run)


async def edit(
    db: Database, person_id: int, run_id: int, question_index: int, now: datetime
) -> RunView:
    """From the summary, re-asks one question; after it the summary comes back."""
    async with _step(db, run_id, person_id, now) as (session, run):
        view = await load_view(session, run)
        if not view.at_summary or not 0 <= question_index < len(view.questions):
            raise StaleQuestion()
        run.current_question = question_index
        run.editing = True
        return await load_view(session, run)


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
        view = await load_view(session, run)
        question = next(q for q in view.questions if q.key == stored.question_key)
        stored.value = parse_answer(question, text)
        stored.answered_at = now
        await session.flush()
        return await load_view(session, run)


async def confirm(db: Database, person_id: int, run_id: int, now: datetime) -> Confirmed:
    """Completes the run and sends any alert to every organizer at once, via the outbox."""
    async with _step(db, run_id, person_id, now) as (session, run):
        view = await load_view(session, run)
        if not view.at_summary:
            raise StaleQuestion()
        if not await move_run(session, run, RunState.COMPLETED, completed_at=now):
            raise RunClosed(run.state)
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
            await alert_organizers(session, survey.programme_id, run.id, now)
        await session.flush()
        return Confirmed(await load_view(session, run), alerts)


async def own_view(db: Database, person_id: int, run_id: int) -> RunView:
    """The person's own run as it stands (the edit menu); anyone else's, or none, is refused."""
    async with db.read() as session:
        run = await session.get(SurveyRun, run_id)
        if run is None or run.person_id != person_id:
            raise NotYourRun()
        return await load_view(session, run)


async def prompt_sent(db: Database, run_id: int) -> bool:
    """The sender delivered the prompt: a due run becomes sent (and nothing else does)."""
    async with db.transaction() as session:
        return await move_run(session, run_id, RunState.SENT, only_from=(RunState.DUE,))
