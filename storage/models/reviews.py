"""An organizer's review of one submitted version: who holds it, scores, feedback, decision."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from liaison.storage.base import Base, BigIntPK, JSONDoc, utcnow
from liaison.storage.enums import ReviewDecision, enum_column


class Review(Base):
    """One per submission; the reviewer's hold on it is a claim with a time, so two organizers
    never review one submission at once and an abandoned review frees itself."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None]
    # {criterion key: points on its scale}, filled button by button.
    scores: Mapped[dict[str, int]] = mapped_column(JSONDoc, default=dict)
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_files.id", ondelete="SET NULL")
    )
    decision: Mapped[ReviewDecision | None] = mapped_column(enum_column(ReviewDecision, 16))
    revision_due_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
