"""The schedule as a reader sees it: day and week boundaries in the reader's own zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import select

from liaison.services.audience import audience_rule
from liaison.services.people import Actor
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import Location, SessionKind
from liaison.storage.models import Phase, Session


class View(StrEnum):
    TODAY = "today"
    WEEK = "week"
    NEXT = "next"
    DAY = "day"


@dataclass(frozen=True)
class PhaseView:
    key: str
    title_zh: str
    title_en: str
    location: Location
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class SessionView:
    key: str
    kind: SessionKind
    title_zh: str
    title_en: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    place: str | None


@dataclass(frozen=True)
class ScheduleResult:
    view: View
    first_day: date
    last_day: date
    sessions: list[SessionView]
    phase: PhaseView | None


def local_day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """UTC instants of a local day's start and the next day's start (23 or 25 h across DST)."""
    tz = zone(zone_name)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _view(row: Session) -> SessionView:
    return SessionView(
        row.key,
        row.kind,
        row.title_zh,
        row.title_en,
        row.starts_at,
        row.ends_at,
        row.timezone,
        row.place,
    )


async def _sessions(
    db: Database,
    actor: Actor,
    start: datetime,
    end: datetime | None,
    limit: int | None = None,
) -> list[SessionView]:
    """Sessions this reader gets, starting in [start, end); with no end, those not over
    at ``start``.

    Staff see every session; a cadre those the audience rule gives their status. A range
    lists a session once, on the day it starts, so paging never shows it twice.
    """
    query = (
        select(Session)
        .where(Session.programme_id == actor.programme_id)
        .order_by(Session.starts_at, Session.key)
    )
    if end is None:
        query = query.where(Session.ends_at > start)
    else:
        query = query.where(Session.starts_at >= start, Session.starts_at < end)
    async with db.read() as session:
        rule = None if actor.is_staff else await audience_rule(session, actor.programme_id)
        shown = [
            _view(row)
            for row in await session.scalars(query)
            if rule is None or rule.gets_session(actor.status, row)
        ]
    return shown[:limit] if limit is not None else shown


async def current_phase(db: Database, programme_id: str, today: date) -> PhaseView | None:
    async with db.read() as session:
        phase = await session.scalar(
            select(Phase)
            .where(
                Phase.programme_id == programme_id,
                Phase.starts_on <= today,
                Phase.ends_on >= today,
            )
            .order_by(Phase.starts_on.desc())
            .limit(1)
        )
    if phase is None:
        return None
    return PhaseView(
        phase.key, phase.title_zh, phase.title_en, phase.location, phase.starts_on, phase.ends_on
    )


async def schedule_for(
    db: Database, actor: Actor, now: datetime, view: View, day: date | None = None
) -> ScheduleResult:
    """Sessions of a local day, a Monday-to-Sunday week, or the next few, in the reader's zone."""
    today = now.astimezone(zone(actor.timezone)).date()
    phase = await current_phase(db, actor.programme_id, today)
    if view is View.NEXT:
        sessions = await _sessions(db, actor, now, None, limit=5)
        last = sessions[-1].starts_at.astimezone(zone(actor.timezone)).date() if sessions else today
        return ScheduleResult(view, today, last, sessions, phase)
    if view is View.WEEK:
        first = (day or today) - timedelta(days=(day or today).weekday())
        last = first + timedelta(days=6)
    else:
        first = last = day or today
    start, _ = local_day_bounds(first, actor.timezone)
    _, end = local_day_bounds(last, actor.timezone)
    sessions = await _sessions(db, actor, start, end)
    return ScheduleResult(view, first, last, sessions, phase)
