"""What became of an e-mail: sent, delayed (the server is down), or refused (a bad address).

E-mail has its own rules beside Telegram's (docs/outbox.md): a server that does not
answer delays the mail with backoff, for as long as the message is worth sending (its
``expires_at``), and the digest says mail is delayed; an address the server refuses is
final: the row fails, and the organizers are told once so they can correct the roster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from liaison.services.audit import record
from liaison.services.outbox.payloads import EmailRefusedPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.outbox.states import move_row
from liaison.storage.database import Database
from liaison.storage.enums import EMAIL_KINDS, OutboxKind, OutboxState
from liaison.storage.models import OutboxMessage, Person
from liaison.storage.queries import reachable_staff

BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=1)


def mail_backoff(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, at most an hour: a server back up is used again soon."""
    return min(BASE_DELAY * int(2 ** min(max(attempts - 1, 0), 16)), MAX_DELAY)


async def mail_sent(db: Database, row_id: int, now: datetime) -> None:
    async with db.transaction() as session:
        await move_row(
            session, row_id, OutboxState.SENT, sent_at=now, lease_until=None, last_error=None
        )


async def mail_delayed(db: Database, row_id: int, until: datetime, error: str) -> None:
    """Back to pending until ``until``; never failed for a server being down."""
    async with db.transaction() as session:
        await move_row(
            session, row_id, OutboxState.PENDING, due_at=until, lease_until=None, last_error=error
        )


async def mail_refused(
    db: Database, row_id: int, person_id: int, address: str, reason: str, now: datetime
) -> int:
    """Fails the row for good and tells the organizers (once per address); returns how many."""
    async with db.transaction() as session:
        await move_row(session, row_id, OutboxState.FAILED, lease_until=None, last_error=reason)
        person = await session.get_one(Person, person_id)
        await record(
            session,
            "email.refused",
            programme_id=person.programme_id,
            actor_person_id=person.id,
            details={"address": address, "reason": reason},
            at=now,
        )
        told = 0
        for organizer in await reachable_staff(session, person.programme_id):
            told += await enqueue(
                session,
                Planned(
                    f"email-refused:{person.id}:{address}:{organizer.id}",
                    organizer.id,
                    OutboxKind.EMAIL_REFUSED_REPORT,
                    EmailRefusedPayload(person_id=person.id, address=address, reason=reason),
                    now,
                ),
            )
    return told


@dataclass(frozen=True)
class MailBacklog:
    """E-mails of a programme that failed to go out and are still waiting for the server."""

    delayed: int
    last_error: str | None


async def mail_backlog(db: Database, programme_id: str) -> MailBacklog:
    async with db.read() as session:
        waiting = (
            select(OutboxMessage)
            .join(Person, Person.id == OutboxMessage.person_id)
            .where(
                Person.programme_id == programme_id,
                OutboxMessage.kind.in_(EMAIL_KINDS),
                OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                OutboxMessage.last_error.is_not(None),
            )
        )
        count = await session.scalar(select(func.count()).select_from(waiting.subquery()))
        latest = await session.scalar(waiting.order_by(OutboxMessage.due_at.desc()).limit(1))
    if not count or latest is None:
        return MailBacklog(0, None)
    return MailBacklog(int(count), latest.last_error)
