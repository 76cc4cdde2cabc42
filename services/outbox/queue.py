"""The durable outbox: planned once by unique key, claimed with a lease, one outcome each.

Delivery policy (see docs/outbox.md): a row is sent at least once and, in all but one
case, exactly once. The exception is a send whose answer never came back (a read
timeout, or a crash between Telegram's answer and our commit): the row is sent again,
because a check-in prompt or an alert shown twice costs a glance, and one lost costs a
phone call at an odd hour.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from liaison.services.outbox.payloads import Payload, check_payload, dump, parse_payload
from liaison.services.outbox.states import FINAL, move_row
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxPriority, OutboxState
from liaison.storage.models import OutboxMessage
from liaison.storage.queries import upsert_insert

MAX_ATTEMPTS = 8
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)

# What is claimed first when many rows are due: alerts and escalations before everything,
# broadcasts after everything (docs/outbox.md). Kinds not named here are NORMAL.
PRIORITIES: dict[OutboxKind, OutboxPriority] = {
    OutboxKind.CHECKIN_ALERT: OutboxPriority.URGENT,
    OutboxKind.CHECKIN_ESCALATION: OutboxPriority.URGENT,
    OutboxKind.UNREACHABLE_REPORT: OutboxPriority.URGENT,
    OutboxKind.BROADCAST_PROGRESS: OutboxPriority.URGENT,
    OutboxKind.BROADCAST: OutboxPriority.BULK,
}


def priority_of(kind: OutboxKind) -> OutboxPriority:
    return PRIORITIES.get(kind, OutboxPriority.NORMAL)


@dataclass(frozen=True)
class Planned:
    key: str
    person_id: int
    kind: OutboxKind
    payload: Payload
    due_at: datetime
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        check_payload(self.kind, self.payload)


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    person_id: int | None
    kind: OutboxKind
    payload: Payload
    due_at: datetime
    expires_at: datetime | None
    attempts: int
    priority: int = int(OutboxPriority.NORMAL)


async def enqueue(session: AsyncSession, planned: Planned) -> bool:
    """Adds a row unless one with the same key exists; True when it was added."""
    values = {
        "unique_key": planned.key,
        "person_id": planned.person_id,
        "kind": planned.kind,
        "payload": dump(planned.payload),
        "due_at": planned.due_at,
        "expires_at": planned.expires_at,
        "priority": int(priority_of(planned.kind)),
        "state": OutboxState.PENDING,
        "attempts": 0,
    }
    result = await session.execute(
        upsert_insert(session.bind.dialect.name, OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["unique_key"])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def claim_due(
    db: Database,
    now: datetime,
    *,
    limit: int = 50,
    lease: timedelta = timedelta(minutes=2),
    kinds: Collection[OutboxKind] | None = None,
) -> list[Claimed]:
    """Claims due rows for this worker in one statement, by priority, then due time.

    On PostgreSQL the inner SELECT takes row locks with SKIP LOCKED, so concurrent
    senders split the rows between them; on SQLite the single writer serialises it.
    A row whose lease ran out (its worker died mid-send) is claimed again.
    """
    due = (
        select(OutboxMessage.id)
        .where(
            or_(
                and_(
                    OutboxMessage.state == OutboxState.PENDING,
                    OutboxMessage.due_at <= now,
                ),
                and_(
                    OutboxMessage.state == OutboxState.SENDING,
                    OutboxMessage.lease_until < now,
                ),
            )
        )
        .order_by(OutboxMessage.priority, OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if kinds is not None:
        due = due.where(OutboxMessage.kind.in_(kinds))
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(
            state=OutboxState.SENDING,
            lease_until=now + lease,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    async with db.transaction() as session:
        rows = list((await session.scalars(statement)).all())
        claimed = [
            Claimed(
                row.id,
                row.unique_key,
                row.person_id,
                row.kind,
                parse_payload(row.kind, dict(row.payload)),
                row.due_at,
                row.expires_at,
                row.attempts,
                row.priority,
            )
            for row in rows
        ]
    claimed.sort(key=lambda c: (c.priority, c.due_at, c.id))
    return claimed


async def mark_sent(
    db: Database, row_id: int, chat_id: int, message_id: int | None, now: datetime
) -> None:
    """Records delivery, with the chat it actually went to (the recipient's at send time)."""
    async with db.transaction() as session:
        await move_row(
            session,
            row_id,
            OutboxState.SENT,
            chat_id=chat_id,
            sent_at=now,
            telegram_message_id=message_id,
            lease_until=None,
            last_error=None,
        )


async def release(
    db: Database, row_id: int, due_at: datetime, error: str | None, *, count_attempt: bool = True
) -> None:
    """Puts a claimed row back to wait until ``due_at``; gives up after MAX_ATTEMPTS."""
    async with db.transaction() as session:
        row = await session.get_one(OutboxMessage, row_id)
        attempts = row.attempts if count_attempt else max(row.attempts - 1, 0)
        if attempts >= MAX_ATTEMPTS:
            await move_row(
                session,
                row_id,
                OutboxState.FAILED,
                attempts=attempts,
                lease_until=None,
                last_error=error,
            )
        else:
            await move_row(
                session,
                row_id,
                OutboxState.PENDING,
                attempts=attempts,
                due_at=due_at,
                lease_until=None,
                last_error=error,
            )


async def finish(db: Database, row_id: int, state: OutboxState, error: str | None) -> None:
    """Records a final outcome: failed, expired or skipped."""
    if state not in FINAL:
        raise ValueError(f"{state} is not a final outcome")
    async with db.transaction() as session:
        await move_row(session, row_id, state, lease_until=None, last_error=error)


def backoff(attempts: int) -> timedelta:
    return min(BASE_BACKOFF * int(2 ** min(max(attempts - 1, 0), 16)), MAX_BACKOFF)
