"""What goes into a person's calendar: the sessions, and the deadlines that concern them.

A cadre gets the whole schedule and their own deadlines (their extension, if any, in
place of the common due time); organizers and observers get the schedule and every
deadline, with each extension as an event of its own. Each event carries a stable key
(programme, session or assignment key, person) so a calendar re-imported after the
programme was reloaded updates its events in place instead of doubling them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from liaison.services.errors import PersonNotFound
from liaison.services.exports.records import ProgrammeInfo, SessionRow, gather_sessions
from liaison.services.exports.records import programme_info as load_programme_info
from liaison.services.people import find_person
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import Assignment, Extension, Person


@dataclass(frozen=True)
class Deadline:
    uid: str
    assignment_key: str
    title_zh: str
    title_en: str
    due_at: datetime
    timezone: str
    # Whose extension this is, when it is one; None for the common due time.
    person_name: str | None = None


@dataclass(frozen=True)
class CalendarData:
    programme: ProgrammeInfo
    # None: the programme's whole calendar (the command line without --person).
    person_name: str | None
    person_timezone: str
    locale: str
    sessions: list[SessionRow]
    deadlines: list[Deadline]


def _uid(*parts: object) -> str:
    return "-".join(str(p) for p in parts) + "@liaison"


async def calendar_for(
    db: Database, programme_id: str, *, person_id: int | None = None, person_name: str | None = None
) -> CalendarData:
    """The calendar of one person (by id, or by roster name), or of the whole programme."""
    async with db.read() as session:
        info = await load_programme_info(session, programme_id)
        person: Person | None = None
        if person_id is not None:
            person = await session.get(Person, person_id)
            if person is None or person.programme_id != programme_id:
                raise PersonNotFound(str(person_id))
        elif person_name is not None:
            person = await find_person(session, programme_id, person_name)
        sessions = await gather_sessions(session, programme_id)
        assignments = list(
            await session.scalars(
                select(Assignment)
                .where(Assignment.programme_id == programme_id)
                .order_by(Assignment.due_at, Assignment.id)
            )
        )
        extensions = list(
            (
                await session.execute(
                    select(Extension, Person.name)
                    .join(Person, Person.id == Extension.person_id)
                    .where(Extension.assignment_id.in_([a.id for a in assignments]))
                    .order_by(Extension.due_at, Extension.person_id)
                )
            ).tuples()
        )
    deadlines: list[Deadline] = []
    if person is not None and person.role is Role.CADRE:
        if person.status is not PersonStatus.WITHDRAWN:
            own = {e.assignment_id: e.due_at for e, _ in extensions if e.person_id == person.id}
            deadlines = [
                Deadline(
                    _uid("deadline", programme_id, a.key, f"p{person.id}"),
                    a.key,
                    a.title_zh,
                    a.title_en,
                    own.get(a.id, a.due_at),
                    a.timezone,
                )
                for a in assignments
            ]
    else:
        by_id = {a.id: a for a in assignments}
        deadlines = [
            Deadline(
                _uid("deadline", programme_id, a.key),
                a.key,
                a.title_zh,
                a.title_en,
                a.due_at,
                a.timezone,
            )
            for a in assignments
        ]
        deadlines += [
            Deadline(
                _uid("extension", programme_id, by_id[e.assignment_id].key, f"p{e.person_id}"),
                by_id[e.assignment_id].key,
                by_id[e.assignment_id].title_zh,
                by_id[e.assignment_id].title_en,
                e.due_at,
                by_id[e.assignment_id].timezone,
                name,
            )
            for e, name in extensions
        ]
    if person is None:
        zone_name, locale = info.home_timezone, info.default_locale
    else:
        default = info.host_timezone if person.role is Role.CADRE else info.home_timezone
        zone_name, locale = person.timezone or default, person.locale or info.default_locale
    return CalendarData(
        info,
        person.name if person else None,
        zone_name,
        locale,
        sessions,
        sorted(deadlines, key=lambda d: (d.due_at, d.uid)),
    )


def session_uid(programme_id: str, key: str) -> str:
    return _uid("session", programme_id, key)
