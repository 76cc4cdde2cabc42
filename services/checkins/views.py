"""A run as the conversation and its renderers see it: questions, answers, where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.checkins.states import OPEN
from liaison.storage.database import Database
from liaison.storage.enums import QuestionKind, RunState
from liaison.storage.models import Person, Survey, SurveyAnswer, SurveyQuestion, SurveyRun


@dataclass(frozen=True)
class Question:
    index: int
    key: str
    kind: QuestionKind
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
    state: RunState
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


async def load_view(session: AsyncSession, run: SurveyRun) -> RunView:
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
        return await load_view(session, await session.get_one(SurveyRun, run_id))


async def open_run(db: Database, person_id: int, now: datetime) -> RunView | None:
    """The person's latest run that can still be answered, if any (a run planned ahead
    opens at its slot, not before)."""
    async with db.read() as session:
        run = await session.scalar(
            select(SurveyRun)
            .where(
                SurveyRun.person_id == person_id,
                SurveyRun.state.in_(OPEN),
                SurveyRun.slot_at <= now,
                SurveyRun.closes_at > now,
            )
            .order_by(SurveyRun.slot_at.desc())
            .limit(1)
        )
        return await load_view(session, run) if run else None
