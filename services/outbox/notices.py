"""What the outbox tells organizers about itself: unreachable people, stale messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from liaison.services.audit import record
from liaison.services.outbox.payloads import ExpiredPayload, UnreachablePayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.outbox.states import move_statement
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxState
from liaison.storage.models import OutboxMessage, Person
from liaison.storage.queries import reachable_staff


async def mark_unreachable(db: Database, person_id: int, now: datetime, reason: str) -> list[int]:
    """Marks a person unreachable (they blocked the bot, or the chat is gone).

    Their pending rows will never be sent; the organizers are told once. Returns the
    ids of the organizers told.
    """
    async with db.transaction() as session:
        person = await session.get_one(Person, person_id)
        first_time = person.unreachable_at is None
        person.unreachable_at = person.unreachable_at or now
        await session.execute(
            move_statement(
                OutboxState.UNREACHABLE,
                OutboxMessage.person_id == person_id,
                last_error=reason,
                lease_until=None,
            )
        )
        told: list[int] = []
        if first_time:
            await record(
                session,
                "person.unreachable",
                programme_id=person.programme_id,
                actor_person_id=person.id,
                details={"reason": reason},
                at=now,
            )
            for organizer in await reachable_staff(session, person.programme_id):
                added = await enqueue(
                    session,
                    Planned(
                        f"unreachable:{person.id}:{now:%Y%m%d%H%M}:{organizer.id}",
                        organizer.id,
                        OutboxKind.UNREACHABLE_REPORT,
                        UnreachablePayload(person_id=person.id, reason=reason),
                        now,
                    ),
                )
                if added:
                    told.append(organizer.id)
    return told


async def move_chat(db: Database, person_id: int, new_chat_id: int) -> None:
    async with db.transaction() as session:
        person = await session.get_one(Person, person_id)
        person.telegram_chat_id = new_chat_id


async def report_expired(db: Database, row_ids: list[int], now: datetime) -> int:
    """Tells each affected programme's organizers, once per batch, what went stale."""
    if not row_ids:
        return 0
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.id, Person.programme_id)
                .join(Person, Person.id == OutboxMessage.person_id)
                .where(OutboxMessage.id.in_(row_ids))
            )
        ).all()
        by_programme: dict[str, list[int]] = {}
        for row_id, programme_id in rows:
            by_programme.setdefault(programme_id, []).append(row_id)
        told = 0
        for programme_id, ids in by_programme.items():
            await record(
                session,
                "outbox.expired",
                programme_id=programme_id,
                details={"rows": ids},
                at=now,
            )
            for organizer in await reachable_staff(session, programme_id):
                if await enqueue(
                    session,
                    Planned(
                        f"expired:{min(ids)}:{organizer.id}",
                        organizer.id,
                        OutboxKind.EXPIRED_REPORT,
                        ExpiredPayload(count=len(ids)),
                        now,
                    ),
                ):
                    told += 1
    return told
