"""The durable outbox: planned once by unique key, claimed with a lease, one outcome each.

Delivery policy (see docs/outbox.md): a row is sent at least once and, in all but one
case, exactly once. The exception is a send whose answer never came back (a read
timeout, or a crash between Telegram's answer and our commit): the row is sent again,
because a check-in prompt or an alert shown twice costs a glance, and one lost costs a
phone call at an odd hour.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from liaison.services.outbox.payloads import Payload, check_payload, dump, parse_payload
from liaison.services.outbox.states import FINAL, move_row, move_statement, sent_many_statement
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind, OutboxPriority, OutboxState
from liaison.storage.models import OutboxMessage
from liaison.storage.queries import upsert_insert

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A claimed batch is held this long unless its sender renews the lease, which it does
# while it works (sender/outbox_sender.py): a batch abandoned by a crash is taken up by
# the next sender within this time, not minutes later.
LEASE = timedelta(seconds=15)
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
    token: str = ""
    # Claimed again after its sender died: alone in its batch (see claim_due).
    recovered: bool = False
    priority: int = int(OutboxPriority.NORMAL)


# Wakes in this process: the sender subscribes, and is told when a transaction that added
# outbox rows commits (rows added by other processes are found by the sender's short poll).
_listeners: list[Callable[[], None]] = []
_ENQUEUED = "liaison_outbox_enqueued"


def subscribe(listener: Callable[[], None]) -> Callable[[], None]:
    """Calls ``listener`` after each commit that added outbox rows; returns the unsubscribe."""
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_ENQUEUED, False):
        for listener in list(_listeners):
            try:
                listener()
            except Exception:  # a listener never breaks the commit that was made
                log.exception("outbox listener failed")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


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
    added = bool(result.rowcount)  # type: ignore[attr-defined]
    if added:
        session.sync_session.info[_ENQUEUED] = True
    return added


# Rows per INSERT statement of enqueue_many: SQLAlchemy's insertmanyvalues batches an
# executemany into multi-row INSERTs of this many rows, fewer when the drivers'
# bind-parameter limit (about 32,700) asks for it: 3,270 outbox rows.
ENQUEUE_PAGE = 10_000


async def enqueue_many(session: AsyncSession, planned: Sequence[Planned]) -> int:
    """Adds every row whose key is new: an executemany of INSERT … ON CONFLICT DO NOTHING
    RETURNING, which SQLAlchemy sends as one multi-row statement per 3,270 rows (its
    insertmanyvalues); returns how many were added. The statement is cached once, in its
    one-row form, whatever the number of rows."""
    if not planned:
        return 0
    rows = [
        {
            "unique_key": p.key,
            "person_id": p.person_id,
            "kind": p.kind,
            "payload": dump(p.payload),
            "due_at": p.due_at,
            "expires_at": p.expires_at,
            "priority": int(priority_of(p.kind)),
            "state": OutboxState.PENDING,
            "attempts": 0,
        }
        for p in planned
    ]
    connection = await session.connection()
    result = await connection.execute(
        upsert_insert(session.bind.dialect.name, OutboxMessage)
        .on_conflict_do_nothing(index_elements=["unique_key"])
        .returning(OutboxMessage.id)
        .execution_options(insertmanyvalues_page_size=ENQUEUE_PAGE),
        rows,
    )
    added = len(result.all())
    if added:
        session.sync_session.info[_ENQUEUED] = True
    return added


async def claim_due(
    db: Database,
    now: datetime,
    *,
    limit: int = 50,
    lease: timedelta = LEASE,
    kinds: Collection[OutboxKind] | None = None,
) -> list[Claimed]:
    """Claims due rows (of ``kinds`` only, when given) under a fresh claim token, by
    priority, then due time.

    On PostgreSQL the inner SELECT takes row locks with SKIP LOCKED, so concurrent
    senders split the rows between them; on SQLite the single writer serialises it.
    Every claimed row is charged one attempt.

    A row whose lease ran out was abandoned mid-batch (its sender died). Such rows are
    claimed again one at a time, each in a batch of its own: if one of them kills the
    sender every time, only that row is charged for it, and once it has used up its
    attempts it ends ``failed`` here instead of being retried forever.
    """
    token = secrets.token_hex(16)
    abandoned = and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.lease_until < now)
    pending = and_(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.due_at <= now)

    def claim(condition: ColumnElement[bool], count: int) -> Any:
        due = (
            select(OutboxMessage.id)
            .where(condition)
            .order_by(OutboxMessage.priority, OutboxMessage.due_at, OutboxMessage.id)
            .limit(count)
            .with_for_update(skip_locked=True)
        )
        if kinds is not None:
            due = due.where(OutboxMessage.kind.in_(kinds))
        return move_statement(
            OutboxState.SENDING,
            OutboxMessage.id.in_(due.scalar_subquery()),
            lease_until=now + lease,
            claim_token=token,
            attempts=OutboxMessage.attempts + 1,
        ).returning(OutboxMessage)

    async with db.transaction() as session:
        given_up = await session.execute(
            move_statement(
                OutboxState.FAILED,
                abandoned,
                OutboxMessage.attempts >= MAX_ATTEMPTS,
                lease_until=None,
                last_error=f"abandoned mid-send {MAX_ATTEMPTS} times (the sender died)",
            )
        )
        if given_up.rowcount:  # type: ignore[attr-defined]
            log.error(
                "gave up on %s outbox row(s) abandoned mid-send %s times",
                given_up.rowcount,  # type: ignore[attr-defined]
                MAX_ATTEMPTS,
            )
        rows = list((await session.scalars(claim(abandoned, 1))).all())
        recovered = bool(rows)
        if not recovered:
            rows = list((await session.scalars(claim(pending, limit))).all())
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
                token,
                recovered,
                row.priority,
            )
            for row in rows
        ]
    claimed.sort(key=lambda c: (c.priority, c.due_at, c.id))
    return claimed


async def renew(db: Database, token: str | Collection[str], until: datetime) -> int:
    """Extends the lease of every row still held under this claim (or these claims);
    returns how many."""
    tokens = [token] if isinstance(token, str) else list(token)
    if not tokens:
        return 0
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.claim_token.in_(tokens),
                OutboxMessage.state == OutboxState.SENDING,
            )
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def mark_sent(
    db: Database, row: Claimed, chat_id: int, message_id: int | None, now: datetime
) -> bool:
    """Records delivery, with the chat it actually went to (the recipient's at send time)."""
    async with db.transaction() as session:
        return await move_row(
            session,
            row.id,
            OutboxState.SENT,
            token=row.token,
            chat_id=chat_id,
            sent_at=now,
            telegram_message_id=message_id,
            lease_until=None,
            last_error=None,
        )


@dataclass(frozen=True)
class Delivered:
    """A row Telegram accepted, waiting to be recorded with others (sender/bookkeeping.py)."""

    row: Claimed
    chat_id: int
    message_id: int | None
    at: datetime


async def record_sent(session: AsyncSession, delivered: Sequence[Delivered]) -> None:
    """Records many deliveries in one statement (executemany), each fenced by its claim
    token like ``mark_sent``; the caller owns the transaction. The bound names are
    those of ``sent_many_statement``."""
    if not delivered:
        return
    statement = sent_many_statement()
    connection = await session.connection()
    await connection.execute(
        statement,
        [
            {
                "b_id": item.row.id,
                "b_token": item.row.token,
                "b_chat": item.chat_id,
                "b_at": item.at,
                "b_message": item.message_id,
            }
            for item in delivered
        ],
    )


async def next_due(db: Database, kinds: Collection[OutboxKind] | None = None) -> datetime | None:
    """When the earliest pending row (of ``kinds``) is due: one read on (state, due_at)."""
    query = (
        select(OutboxMessage.due_at)
        .where(OutboxMessage.state == OutboxState.PENDING)
        .order_by(OutboxMessage.due_at)
        .limit(1)
    )
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(kinds))
    async with db.read() as session:
        due: datetime | None = await session.scalar(query)
    return due


async def release(
    db: Database,
    row: Claimed,
    due_at: datetime,
    error: str | None,
    *,
    count_attempt: bool = True,
) -> None:
    """Puts a row back to wait until ``due_at``; gives up after MAX_ATTEMPTS.

    ``count_attempt=False`` takes back the attempt its claim counted (flood control is
    Telegram's pace, not a failure of the row).
    """
    attempts = row.attempts if count_attempt else max(row.attempts - 1, 0)
    async with db.transaction() as session:
        if attempts >= MAX_ATTEMPTS:
            await move_row(
                session,
                row.id,
                OutboxState.FAILED,
                token=row.token,
                attempts=attempts,
                lease_until=None,
                last_error=error,
            )
        else:
            await move_row(
                session,
                row.id,
                OutboxState.PENDING,
                token=row.token,
                attempts=attempts,
                due_at=due_at,
                lease_until=None,
                last_error=error,
            )


async def unclaim(
    db: Database,
    rows: Sequence[Claimed],
    due_at: datetime | None = None,
    error: str | None = None,
) -> None:
    """Hands back claimed rows the sender never started (it stopped), without the attempt;
    with ``due_at``, they wait until then (the rest of a chat behind a 429)."""
    if not rows:
        return
    extra: dict[str, Any] = {} if due_at is None else {"due_at": due_at, "last_error": error}
    async with db.transaction() as session:
        for row in rows:
            await move_row(
                session,
                row.id,
                OutboxState.PENDING,
                token=row.token,
                attempts=max(row.attempts - 1, 0),
                lease_until=None,
                **extra,
            )


async def finish(db: Database, row: Claimed, state: OutboxState, error: str | None) -> bool:
    """Records a final outcome: failed, expired, skipped or unreachable."""
    if state not in FINAL:
        raise ValueError(f"{state} is not a final outcome")
    async with db.transaction() as session:
        return await move_row(
            session, row.id, state, token=row.token, lease_until=None, last_error=error
        )


def backoff(attempts: int) -> timedelta:
    return min(BASE_BACKOFF * int(2 ** min(max(attempts - 1, 0), 16)), MAX_BACKOFF)
