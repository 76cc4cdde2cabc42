"""Notices organizers send to an audience, and who received and acknowledged each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from liaison.storage.base import Base, BigIntPK, JSONDoc, utcnow
from liaison.storage.enums import BroadcastState, MediaKind, enum_column


class Broadcast(Base):
    """A notice from its draft to its final report; the draft lives here, not in memory."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[str] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    state: Mapped[BroadcastState] = mapped_column(
        enum_column(BroadcastState, 16), default=BroadcastState.DRAFT
    )
    # {"kind": AudienceKind, "value": phase key, zone or list of person ids}.
    audience: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    text: Mapped[str] = mapped_column(Text, default="")
    # An optional file, sent again by Telegram's file_id (never downloaded).
    file_id: Mapped[str | None] = mapped_column(String(256))
    file_kind: Mapped[MediaKind | None] = mapped_column(enum_column(MediaKind, 16))
    file_name: Mapped[str | None] = mapped_column(String(500))
    ask_ack: Mapped[bool] = mapped_column(default=False)
    # The author's message that shows the preview, then the progress, edited in place.
    status_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class BroadcastRecipient(Base):
    """One person a confirmed broadcast goes to; delivery is its outbox row's state."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    acknowledged_at: Mapped[datetime | None]
