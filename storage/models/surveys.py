"""Check-in surveys, their questions, and each due run with its answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liaison.storage.base import Base, BigIntPK, JSONDoc, utcnow
from liaison.storage.enums import Audience, QuestionKind, RunState, enum_column


class Survey(Base):
    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("programme_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[str] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    # {"weekdays": ["tue", "fri"], "at": "20:00"}, applied in each cadre's own zone.
    schedule: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    phase_keys: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    window_minutes: Mapped[int]
    remind_after_minutes: Mapped[int]
    escalate_after_minutes: Mapped[int]
    alert_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    audience: Mapped[Audience | None] = mapped_column(enum_column(Audience, 16))


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    __table_args__ = (UniqueConstraint("survey_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int]
    kind: Mapped[QuestionKind] = mapped_column(enum_column(QuestionKind, 16))
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    options: Mapped[list[dict[str, str]]] = mapped_column(JSONDoc, default=list)
    optional: Mapped[bool] = mapped_column(default=False)


class SurveyRun(Base):
    """One due instance of a survey for one cadre; the state machine lives here, not in RAM."""

    __tablename__ = "survey_runs"
    # One run per person per survey per local day: a zone change or DST cannot double it.
    # A run dropped before its prompt is deleted (services/checkins/planning.py): SQLite's
    # AUTOINCREMENT keeps its id from being given to the next run, whose outbox keys
    # (checkin:<run>:prompt) and payloads must not meet the dropped run's.
    __table_args__ = (
        UniqueConstraint("survey_id", "person_id", "slot_date"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    slot_date: Mapped[date]
    slot_at: Mapped[datetime] = mapped_column(index=True)
    closes_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    state: Mapped[RunState] = mapped_column(
        enum_column(RunState, 16), default=RunState.DUE, index=True
    )
    current_question: Mapped[int] = mapped_column(default=0)
    # True while one answer is being changed from the summary; after it, back to the summary.
    editing: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # slot_at + the survey's escalate_after, stored so the tick selects only runs due for
    # escalation (services/checkins/planning.py) instead of reloading every open run.
    escalate_at: Mapped[datetime | None] = mapped_column(index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("run_id", "question_key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_runs.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    skipped: Mapped[bool] = mapped_column(default=False)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id", ondelete="SET NULL"))
    # The Telegram message that carried a typed answer, so an edit of it replaces the answer.
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Absence(Base):
    """Days a person is excused from check-ins (travel, illness), set by an organizer."""

    __tablename__ = "absences"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
