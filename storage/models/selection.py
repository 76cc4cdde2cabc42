"""The selection: test results per person, and an organizer's marks before Confirm."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liaison.storage.base import Base, BigIntPK, utcnow
from liaison.storage.enums import PersonStatus, ResultSource, enum_column


class TestResult(Base):
    """One person's result in one declared test; a new entry replaces it (the audit keeps all)."""

    __tablename__ = "test_results"
    __table_args__ = (UniqueConstraint("person_id", "test_key"),)
    __test__ = False  # not a pytest class, whatever its name

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # A key of the programme file's selection.tests.
    test_key: Mapped[str] = mapped_column(String(64))
    # As shown: a score ("86.5") or a level's key ("advanced").
    value: Mapped[str] = mapped_column(String(64))
    # What ranks it: the score itself, or the level's position (lowest first, from 1).
    rank_value: Mapped[float] = mapped_column(Numeric(8, 2, asdecimal=False))
    source: Mapped[ResultSource] = mapped_column(enum_column(ResultSource, 16))
    # None when it came from a roster file imported on the command line.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)


class SelectionMark(Base):
    """An organizer's decision for one candidate, pending until they confirm the selection.

    Kept in the database so a walk through 23 candidates survives a restart; confirming
    applies and deletes the organizer's marks in one transaction.
    """

    __tablename__ = "selection_marks"
    __table_args__ = (UniqueConstraint("organizer_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # SELECTED or NOT_SELECTED.
    decision: Mapped[PersonStatus] = mapped_column(enum_column(PersonStatus, 16))
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
