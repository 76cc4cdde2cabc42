"""Linking a Telegram account to a roster entry, by shared phone contact or one-time code."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.audit import record
from liaison.services.clock import Clock
from liaison.services.errors import (
    AccessEnded,
    AlreadyEnrolled,
    CodeAttemptsLocked,
    CodeExpired,
    CodeInvalid,
    CodeUsed,
    ContactNotOwn,
    DomainError,
    PhoneNotOnRoster,
)
from liaison.services.people import Actor, actor_from, load_actor
from liaison.services.phones import normalise_phone
from liaison.services.refusals import LOCKED, locked_until, minutes_left, record_refusal
from liaison.storage.database import Database
from liaison.storage.enums import PersonStatus, Role
from liaison.storage.models import EnrolmentCode, Person, Programme

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over a phone
CODE_LENGTH = 10


@dataclass(frozen=True)
class Enrolled:
    actor: Actor
    already: bool


@dataclass(frozen=True)
class IssuedCode:
    person_id: int
    name: str
    role: Role
    code: str
    expires_at: datetime


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


async def _refuse(
    db: Database,
    clock: Clock,
    error: DomainError,
    telegram_user_id: int,
    details: dict[str, object],
    *,
    code: bool = False,
) -> DomainError:
    """Counts a refused attempt (services/refusals.py); a wrong code may start a lock-out."""
    now = clock.now()
    locked = await record_refusal(db, telegram_user_id, error.code, now, code=code, details=details)
    if locked is not None:
        return CodeAttemptsLocked(minutes_left(locked, now))
    return error


async def _link(
    session: AsyncSession,
    person: Person,
    telegram_user_id: int,
    chat_id: int,
    now: datetime,
    method: str,
) -> Actor:
    person.telegram_user_id = telegram_user_id
    person.telegram_chat_id = chat_id
    person.enrolled_at = now
    person.unreachable_at = None
    await record(
        session,
        "enrolment.linked",
        programme_id=person.programme_id,
        actor_person_id=person.id,
        telegram_user_id=telegram_user_id,
        details={"method": method},
        at=now,
    )
    programme = await session.get_one(Programme, person.programme_id)
    return actor_from(person, programme)


async def enrol_by_contact(
    db: Database,
    clock: Clock,
    *,
    telegram_user_id: int,
    chat_id: int,
    contact_user_id: int | None,
    phone: str,
    default_region: str = "CN",
) -> Enrolled:
    """Accepts only the sender's own contact whose phone is on a roster."""
    if contact_user_id != telegram_user_id:
        raise await _refuse(db, clock, ContactNotOwn(), telegram_user_id, {})
    current = await load_actor(db, telegram_user_id)
    if current is not None:
        return Enrolled(current, already=True)
    normalised = normalise_phone(phone, default_region)
    if normalised is None:
        raise await _refuse(db, clock, PhoneNotOnRoster(), telegram_user_id, {"phone_valid": False})
    async with db.transaction() as session:
        people = list(
            await session.scalars(
                select(Person).where(Person.phone == normalised).order_by(Person.id.desc())
            )
        )
        free = [p for p in people if p.telegram_user_id is None]
        current_entries = [p for p in free if p.status is not PersonStatus.WITHDRAWN]
        if current_entries:
            actor = await _link(
                session, current_entries[0], telegram_user_id, chat_id, clock.now(), "contact"
            )
            return Enrolled(actor, already=False)
    error: DomainError = (
        AccessEnded() if free else AlreadyEnrolled() if people else PhoneNotOnRoster()
    )
    # The phone itself is personal data: only its last digits go into the audit record.
    raise await _refuse(db, clock, error, telegram_user_id, {"phone_tail": normalised[-4:]})


async def enrol_by_code(
    db: Database, clock: Clock, *, telegram_user_id: int, chat_id: int, code: str
) -> Enrolled:
    """Redeems a single-use code; a used, expired or unknown code is refused and audited.

    An account locked out after repeated wrong codes (services/refusals.py) is refused
    before the code is even looked at, so guessing gains nothing while it lasts.
    """
    current = await load_actor(db, telegram_user_id)
    if current is not None:
        return Enrolled(current, already=True)
    now = clock.now()
    until = await locked_until(db, telegram_user_id, now)
    if until is not None:
        await record_refusal(db, telegram_user_id, LOCKED, now, code=False)
        raise CodeAttemptsLocked(minutes_left(until, now))
    digest = hash_code(code)
    async with db.transaction() as session:
        row = await session.scalar(
            select(EnrolmentCode).where(EnrolmentCode.code_sha256 == digest).with_for_update()
        )
        error: DomainError | None = None
        if row is None:
            error = CodeInvalid()
        elif row.used_at is not None:
            error = CodeUsed()
        elif row.expires_at <= now:
            error = CodeExpired()
        else:
            person = await session.get_one(Person, row.person_id)
            if person.telegram_user_id is not None:
                error = AlreadyEnrolled()
            elif person.status is PersonStatus.WITHDRAWN:
                error = AccessEnded()
            else:
                row.used_at = now
                actor = await _link(session, person, telegram_user_id, chat_id, now, "code")
                return Enrolled(actor, already=False)
    raise await _refuse(
        db,
        clock,
        error,
        telegram_user_id,
        {"code_id": row.id if row else None},
        code=not isinstance(error, AccessEnded),
    )


async def issue_codes(
    db: Database,
    clock: Clock,
    programme_id: str,
    *,
    names: list[str] | None = None,
    valid_for: timedelta = timedelta(days=14),
    include_enrolled: bool = False,
) -> list[IssuedCode]:
    """Issues a fresh code per person; older unused codes of those people stop working.

    A code must be valid for some time: a non-positive ``valid_for`` would issue dead
    codes (and silently revoke the live ones), so it is refused.
    """
    if valid_for <= timedelta(0):
        raise ValueError(f"codes must stay valid for a positive time, not {valid_for}")
    now = clock.now()
    issued: list[IssuedCode] = []
    async with db.transaction() as session:
        query = select(Person).where(Person.programme_id == programme_id).order_by(Person.id)
        if names:
            query = query.where(Person.name.in_(names))
        query = query.where(Person.status != PersonStatus.WITHDRAWN)
        if not include_enrolled:
            query = query.where(Person.telegram_user_id.is_(None))
        people = list(await session.scalars(query))
        for person in people:
            await session.execute(
                delete(EnrolmentCode).where(
                    EnrolmentCode.person_id == person.id, EnrolmentCode.used_at.is_(None)
                )
            )
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            session.add(
                EnrolmentCode(
                    person_id=person.id, code_sha256=hash_code(code), expires_at=now + valid_for
                )
            )
            issued.append(IssuedCode(person.id, person.name, person.role, code, now + valid_for))
        await record(
            session,
            "enrolment.codes_issued",
            programme_id=programme_id,
            details={"count": len(issued)},
            at=now,
        )
    return issued
