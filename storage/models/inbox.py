"""The inbox: every incoming update, stored before Telegram is told it arrived."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from liaison.storage.base import Base, JSONDoc, utcnow
from liaison.storage.enums import InboxState, enum_column


class InboxUpdate(Base):
    """One Telegram update: kept from arrival until handled (done) or given up (failed)."""

    __tablename__ = "inbox_updates"
    __table_args__ = (
        Index("ix_inbox_updates_state_update_id", "state", "update_id"),
        Index("ix_inbox_updates_user_id_state", "user_id", "state"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The sender: one person's updates are handled in update_id order, one at a time.
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    state: Mapped[InboxState] = mapped_column(
        enum_column(InboxState, 16), default=InboxState.PENDING
    )
    # Tries begun (counted before the handler runs, so a crash counts too).
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
