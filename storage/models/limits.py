"""Bounds on what one Telegram account may try: refused enrolment attempts and lock-outs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from liaison.storage.base import Base


class EnrolmentRefusals(Base):
    """One Telegram account's refused enrolment attempts in its current window.

    Kept in the database, so a restart or a second instance neither forgets a lock-out
    nor starts a new audit row: the refusals of one window share one audit event.
    """

    __tablename__ = "enrolment_refusals"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    window_started_at: Mapped[datetime] = mapped_column(index=True)
    # Every refusal in the window (codes, contacts, attempts while locked out).
    refusals: Mapped[int] = mapped_column(default=0)
    # Wrong, used or expired codes in the window: these lead to the lock-out.
    code_refusals: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # The audit event that counts this window's refusals.
    audit_event_id: Mapped[int | None] = mapped_column(BigInteger)
