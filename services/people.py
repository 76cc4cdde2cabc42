"""Who is talking to the bot, and the preferences they can change themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.errors import AmbiguousName, PersonNotFound, UnknownLocale, UnknownTimezone
from liaison.services.timezones import canonical_timezone
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import Person, Programme

SUPPORTED_LOCALES = ("zh_CN", "en")
_KEPT = "liaison_kept_rows"


@dataclass(frozen=True)
class Actor:
    """The enrolled person behind an update, with what rendering needs to know."""

    person_id: int
    programme_id: str
    name: str
    role: Role
    locale: str | None
    timezone: str
    home_timezone: str
    host_timezone: str
    programme_locale: str
    phone: str
    # Decides what a cadre gets (services/audience.py).
    status: PersonStatus
    chat_id: int | None = None
    # The programme's updated_at when the actor was read: it changes whenever the programme,
    # its phases or its sessions change (storage/models/programme.py), so what is cached per
    # programme (services/schedule.py) is keyed by it and never served stale.
    programme_stamp: datetime | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ORGANIZER, Role.OBSERVER)

    @property
    def has_access(self) -> bool:
        """Withdrawn people keep their records but may do nothing any more."""
        return self.status is not PersonStatus.WITHDRAWN


def actor_from(person: Person, programme: Programme) -> Actor:
    default_zone = programme.host_timezone if person.role == Role.CADRE else programme.home_timezone
    return Actor(
        person_id=person.id,
        programme_id=programme.id,
        name=person.name,
        role=Role(person.role),
        locale=person.locale,
        timezone=person.timezone or default_zone,
        home_timezone=programme.home_timezone,
        host_timezone=programme.host_timezone,
        programme_locale=programme.default_locale,
        phone=person.phone,
        status=PersonStatus(person.status),
        chat_id=person.telegram_chat_id,
        programme_stamp=programme.updated_at,
    )


async def _actor_where(db: Database, condition: ColumnElement[bool]) -> Actor | None:
    async with db.read() as session:
        row = (
            await session.execute(
                select(Person, Programme)
                .join(Programme, Programme.id == Person.programme_id)
                .where(condition)
            )
        ).first()
        if row is not None:
            # The session's identity map holds objects weakly: kept here, the person and the
            # programme are found there again by the handler (session.get) for the rest of
            # an update's unit of work, without a query.
            session.info.setdefault(_KEPT, []).extend((row[0], row[1]))
    return actor_from(row[0], row[1]) if row else None


async def load_actor(db: Database, telegram_user_id: int) -> Actor | None:
    return await _actor_where(db, Person.telegram_user_id == telegram_user_id)


async def set_locale(db: Database, person_id: int, locale: str) -> str:
    if locale not in SUPPORTED_LOCALES:
        raise UnknownLocale(locale)
    async with db.transaction() as session:
        person = await session.get_one(Person, person_id)
        person.locale = locale
        await record(
            session,
            "person.locale",
            programme_id=person.programme_id,
            actor_person_id=person.id,
            details={"locale": locale},
        )
    return locale


async def set_timezone(db: Database, person_id: int, name: str) -> str:
    """Sets the person's zone after checking it against the tz database."""
    zone_name = canonical_timezone(name)
    if zone_name is None:
        raise UnknownTimezone(name)
    async with db.transaction() as session:
        person = await session.get_one(Person, person_id)
        person.timezone = zone_name
        await record(
            session,
            "person.timezone",
            programme_id=person.programme_id,
            actor_person_id=person.id,
            details={"timezone": zone_name},
        )
    return zone_name


async def actor_by_id(db: Database, person_id: int) -> Actor | None:
    """The person as a recipient: language, zone and chat come from here at send time."""
    return await _actor_where(db, Person.id == person_id)


async def find_person(session: AsyncSession, programme_id: str, name: str) -> Person:
    """Finds a roster entry by exact name, then by a unique case-insensitive prefix."""
    people = list(await session.scalars(select(Person).where(Person.programme_id == programme_id)))
    exact = [p for p in people if p.name == name]
    if len(exact) == 1:
        return exact[0]
    loose = [p for p in people if p.name.lower().startswith(name.lower())]
    if len(loose) == 1:
        return loose[0]
    if len(loose) > 1 or len(exact) > 1:
        raise AmbiguousName(name)
    raise PersonNotFound(name)


async def set_awaiting(db: Database, person_id: int, awaiting: dict[str, object] | None) -> None:
    """Says what this person's next plain text message is for (e.g. notes of a call)."""
    async with db.transaction() as session:
        person = await session.get_one(Person, person_id)
        person.awaiting = awaiting


async def get_awaiting(db: Database, person_id: int) -> dict[str, object] | None:
    async with db.read() as session:
        person = await session.get_one(Person, person_id)
        return dict(person.awaiting) if person.awaiting else None
