"""A programme with its phases and schedule items."""

from __future__ import annotations

from datetime import date, datetime
from itertools import chain
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, event, update
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm import Session as OrmSession

from liaison.storage.base import Base, BigIntPK, JSONDoc, utcnow
from liaison.storage.enums import Audience, Location, SessionKind, enum_column


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    home_timezone: Mapped[str] = mapped_column(String(64))
    host_timezone: Mapped[str] = mapped_column(String(64))
    default_locale: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    phases: Mapped[list[Phase]] = relationship(
        back_populates="programme", order_by="Phase.starts_on", cascade="all, delete-orphan"
    )


class Phase(Base):
    __tablename__ = "phases"
    __table_args__ = (UniqueConstraint("programme_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[str] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    location: Mapped[Location] = mapped_column(enum_column(Location, 16))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # As written in the programme file; None means the default rule (services/audience.py).
    audience: Mapped[Audience | None] = mapped_column(enum_column(Audience, 16))

    programme: Mapped[Programme] = relationship(back_populates="phases")


class Session(Base):
    """A schedule item; its instants are UTC, its own zone is kept to show local times."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("programme_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    programme_id: Mapped[str] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    phase_id: Mapped[int | None] = mapped_column(ForeignKey("phases.id", ondelete="SET NULL"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[SessionKind] = mapped_column(enum_column(SessionKind, 32))
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    place: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[Audience | None] = mapped_column(enum_column(Audience, 16))

    phase: Mapped[Phase | None] = relationship()


@event.listens_for(OrmSession, "before_flush")
def _stamp_programmes(session: OrmSession, _context: Any, _instances: Any) -> None:
    """A programme's updated_at moves whenever one of its phases or sessions is added,
    changed or deleted, not only when its own row changes.

    What is cached per programme (services/schedule.py) is keyed by this stamp, read with
    the actor on every update: a programme reloaded or edited is never served stale. Every
    write to phases and sessions goes through the ORM (services/programmes/loading.py);
    a Core statement writing them would have to move the stamp itself.
    """
    touched = {
        item.programme_id
        for item in chain(session.new, session.dirty, session.deleted)
        if isinstance(item, Phase | Session) and item.programme_id is not None
    }
    if touched:
        session.connection().execute(
            update(Programme.__table__)  # type: ignore[arg-type]
            .where(Programme.__table__.c.id.in_(sorted(touched)))
            .values(updated_at=utcnow())
        )
