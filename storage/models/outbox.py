"""The outbox: every message the bot sends on its own, planned once by a unique key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from liaison.storage.base import Base, BigIntPK, JSONDoc, utcnow
from liaison.storage.enums import OutboxKind, OutboxPriority, OutboxState, enum_column


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    unique_key: Mapped[str] = mapped_column(String(200), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # The chat it went to: taken from the recipient at send time, so a migration is followed.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[OutboxKind] = mapped_column(enum_column(OutboxKind, 32))
    # Codes and data only: the text is rendered at send time in the reader's locale and zone.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    due_at: Mapped[datetime]
    # Claimed in this order before due time (OutboxPriority): broadcasts wait for prompts.
    priority: Mapped[int] = mapped_column(
        SmallInteger, default=int(OutboxPriority.NORMAL), server_default=text("1")
    )
    expires_at: Mapped[datetime | None]
    state: Mapped[OutboxState] = mapped_column(
        enum_column(OutboxState, 16), default=OutboxState.PENDING
    )
    # Claims of the row (one per send tried; a batch stopped by flood control gives back
    # the attempts of the rows it did not reach).
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    # Who holds the row while it is `sending`: a random token per claimed batch, so a
    # sender that lost its lease cannot record an outcome over the new holder's.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
