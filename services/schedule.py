"""The schedule as a reader sees it: day and week boundaries in the reader's own zone."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, select

from liaison.services.audience import AudienceRule, PhaseRule, rule_for
from liaison.services.people import Actor
from liaison.services.timezones import zone
from liaison.storage.database import Database
from liaison.storage.enums import Audience, Location, SessionKind
from liaison.storage.models import Phase, Programme, Session


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


@dataclass(frozen=True)
class _Item:
    view: SessionView
    audience: Audience | None
    phase: PhaseRule | None


@dataclass(frozen=True)
class ProgrammeSchedule:
    """A programme's phases and sessions as /schedule needs them, read once per stamp."""

    stamp: datetime | None
    rule: AudienceRule
    phases: tuple[PhaseView, ...]
    # Ordered by (starts_at, key), as the query gave them.
    items: tuple[_Item, ...]
    starts: tuple[datetime, ...]


# Per process, per database: a Database's entries go with it (tests make many).
_CACHE: WeakKeyDictionary[Database, dict[str, ProgrammeSchedule]] = WeakKeyDictionary()

_STAMP = select(Programme.updated_at).where(Programme.id == bindparam("programme"))
_PHASES = select(Phase.__table__).where(Phase.__table__.c.programme_id == bindparam("programme"))
_SESSIONS = (
    select(
        Session.__table__.c.key,
        Session.__table__.c.kind,
        Session.__table__.c.title_zh,
        Session.__table__.c.title_en,
        Session.__table__.c.starts_at,
        Session.__table__.c.ends_at,
        Session.__table__.c.timezone,
        Session.__table__.c.place,
        Session.__table__.c.audience,
        Session.__table__.c.phase_id,
    )
    .where(Session.__table__.c.programme_id == bindparam("programme"))
    .order_by(Session.__table__.c.starts_at, Session.__table__.c.key)
)


async def _read_schedule(db: Database, programme_id: str) -> ProgrammeSchedule:
    async with db.read() as session:
        # The stamp first: a change committed between these reads leaves newer rows under
        # an older stamp (read again next time), never older rows under a newer one.
        stamp = await session.scalar(_STAMP, {"programme": programme_id})
        programme = await session.get_one(Programme, programme_id)
        phases = (await session.execute(_PHASES, {"programme": programme_id})).all()
        rows = (await session.execute(_SESSIONS, {"programme": programme_id})).all()
    rule = rule_for(programme, phases)  # type: ignore[arg-type]
    items = []
    for key, kind, zh, en, starts_at, ends_at, zone_name, place, audience, phase_id in rows:
        day = starts_at.astimezone(zone(zone_name)).date()
        items.append(
            _Item(
                SessionView(key, kind, zh, en, starts_at, ends_at, zone_name, place),
                audience,
                rule.phase(phase_id, day),
            )
        )
    views = tuple(
        PhaseView(p.key, p.title_zh, p.title_en, p.location, p.starts_on, p.ends_on)
        for p in sorted(phases, key=lambda p: p.starts_on)
    )
    return ProgrammeSchedule(
        stamp, rule, views, tuple(items), tuple(i.view.starts_at for i in items)
    )


async def programme_schedule(db: Database, actor: Actor) -> ProgrammeSchedule:
    """The programme's schedule from the process's cache while the actor's stamp matches it."""
    cached = _CACHE.get(db, {}).get(actor.programme_id)
    stamp = actor.programme_stamp
    if cached is not None and stamp is not None and cached.stamp == stamp:
        return cached
    fresh = await _read_schedule(db, actor.programme_id)
    _CACHE.setdefault(db, {})[actor.programme_id] = fresh
    return fresh


def _sessions(
    schedule: ProgrammeSchedule,
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
    if end is None:
        candidates: Iterable[_Item] = (i for i in schedule.items if i.view.ends_at > start)
    else:
        low = bisect_left(schedule.starts, start)
        high = bisect_left(schedule.starts, end, lo=low)
        candidates = schedule.items[low:high]
    rule = None if actor.is_staff else schedule.rule
    shown = []
    for item in candidates:
        if rule is None or rule.gets(actor.status, item.audience, item.phase):
            shown.append(item.view)
            if limit is not None and len(shown) >= limit:
                break
    return shown


def current_phase(schedule: ProgrammeSchedule, today: date) -> PhaseView | None:
    holding = [p for p in schedule.phases if p.starts_on <= today <= p.ends_on]
    return max(holding, key=lambda p: p.starts_on) if holding else None


async def schedule_for(
    db: Database, actor: Actor, now: datetime, view: View, day: date | None = None
) -> ScheduleResult:
    """Sessions of a local day, a Monday-to-Sunday week, or the next few, in the reader's zone."""
    today = now.astimezone(zone(actor.timezone)).date()
    schedule = await programme_schedule(db, actor)
    phase = current_phase(schedule, today)
    if view is View.NEXT:
        sessions = _sessions(schedule, actor, now, None, limit=5)
        last = sessions[-1].starts_at.astimezone(zone(actor.timezone)).date() if sessions else today
        return ScheduleResult(view, today, last, sessions, phase)
    if view is View.WEEK:
        first = (day or today) - timedelta(days=(day or today).weekday())
        last = first + timedelta(days=6)
    else:
        first = last = day or today
    start, _ = local_day_bounds(first, actor.timezone)
    _, end = local_day_bounds(last, actor.timezone)
    sessions = _sessions(schedule, actor, start, end)
    return ScheduleResult(view, first, last, sessions, phase)
