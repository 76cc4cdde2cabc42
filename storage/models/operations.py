"""What the running processes say about themselves, so `liaison status` and /healthz can tell."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from liaison.storage.base import Base


class Heartbeat(Base):
    """The last run of one named job (plan, send, ...), by whichever instance ran it."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    seconds: Mapped[float] = mapped_column(Float)
    ok: Mapped[bool]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
