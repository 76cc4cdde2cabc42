"""The roster: people of a programme and their one-time enrolment codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from liaison.storage.base import Base, BigIntPK, JSONDoc, utcnow
from liaison.storage.enums import PersonStatus, Role, enum_column


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("programme_id", "phone"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[str] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    # E.164, normalised on import so a shared contact matches whatever the roster wrote.
    phone: Mapped[str] = mapped_column(String(32))
    # Where the digest and exports go by e-mail, for organizers at home who cannot reach
    # Telegram from the office; checked on import.
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(enum_column(Role, 16), default=Role.CADRE)
    locale: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[PersonStatus] = mapped_column(
        enum_column(PersonStatus, 16), default=PersonStatus.SELECTED
    )
    test_batch: Mapped[int | None]
    english_score: Mapped[float | None] = mapped_column(Numeric(6, 2, asdecimal=False))
    bft_level: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    enrolled_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]
    # A short hash of the command menu last set for this chat (commands, texts, language):
    # at start only the menus whose signature differs are set again (handlers/menu.py).
    menu_signature: Mapped[str | None] = mapped_column(String(16))
    # What this person's next plain text message is for (e.g. notes of a call), if anything.
    awaiting: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EnrolmentCode(Base):
    """A single-use code; only its SHA-256 is kept so a database leak reveals no code."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship()
