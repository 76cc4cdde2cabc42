"""The inbox of incoming updates: stored first, handled once, tried again until settled.

An update is a row before Telegram is told it arrived (polling: the next offset;
webhook: the 200). It is handled inside one unit of work that also marks it done, so its
effects and the mark commit together. A row still pending after a crash or an outage is
handled again, one person's rows in update_id order. See docs/reliability.md.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, Update, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from liaison.storage.database import Database
from liaison.storage.enums import InboxState
from liaison.storage.models import InboxUpdate
from liaison.storage.queries import upsert_insert

# A handler error that is not transient is tried this many times, then the row fails.
ERROR_ATTEMPTS = 3
# Any row begun this many times without settling fails (a crash loop, an endless outage).
ATTEMPT_LIMIT = 10
# Telegram keeps an unconfirmed update for 24 hours; handled ids are kept longer.
KEEP_DONE = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)


def sender_of(payload: Mapping[str, Any]) -> int | None:
    """The id of the user who caused the update (the "from" of its message or query)."""
    for key, value in payload.items():
        if key == "update_id" or not isinstance(value, Mapping):
            continue
        for field in ("from", "user"):
            person = value.get(field)
            if isinstance(person, Mapping) and isinstance(person.get("id"), int):
                return int(person["id"])
    return None


def retry_delay(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s, ... at most a minute: quick after a blip, calm during an outage."""
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


async def store(db: Database, payloads: Iterable[Mapping[str, Any]], now: datetime) -> int:
    """Stores a batch in one statement; an update_id already stored is left as it is.

    Returns how many rows were new.
    """
    rows = [
        {
            "update_id": int(payload["update_id"]),
            "user_id": sender_of(payload),
            "payload": dict(payload),
            "state": InboxState.PENDING,
            "attempts": 0,
            "received_at": now,
            "next_attempt_at": now,
        }
        for payload in payloads
    ]
    if not rows:
        return 0
    # One statement for the batch; a repeated id inside it counts once.
    unique = list({row["update_id"]: row for row in rows}.values())
    statement = upsert_insert(db.dialect, InboxUpdate).values(unique).on_conflict_do_nothing()
    async with db.transaction() as session:
        result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Due:
    """A row that may be tried now, and how often it was begun before."""

    update_id: int
    attempts: int


async def runnable(db: Database, now: datetime, limit: int = 100) -> list[Due]:
    """Pending rows that are due, oldest first, none behind an unsettled older one of its sender.

    So a batch holds at most one row per sender: its rows may be handled side by side.
    """
    older = aliased(InboxUpdate)
    blocked = exists().where(
        older.user_id == InboxUpdate.user_id,
        older.state == InboxState.PENDING,
        older.update_id < InboxUpdate.update_id,
    )
    async with db.read() as session:
        rows = await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.attempts)
            .where(
                InboxUpdate.state == InboxState.PENDING,
                InboxUpdate.next_attempt_at <= now,
                or_(InboxUpdate.user_id.is_(None), ~blocked),
            )
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
        return [Due(int(update_id), int(attempts)) for update_id, attempts in rows]


@dataclass(frozen=True)
class Attempt:
    update_id: int
    attempts: int
    payload: dict[str, Any]
    user_id: int | None = None


_NO_SYNC = {"synchronize_session": False}


async def claim_fresh(db: Database, update_ids: Sequence[int], now: datetime) -> list[Attempt]:
    """Counts the first try of rows never tried before, all in one commit.

    A crash while they are handled leaves each of them counted once; from then on a row
    is begun one at a time (``begin_attempt``), so a row that kills the process every
    time still fails after ATTEMPT_LIMIT tries, and the rows claimed with it pay for
    that crash once. A row another instance claimed meanwhile is not returned.
    """
    if not update_ids:
        return []
    async with db.transaction() as session:
        rows = await session.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.update_id.in_(list(update_ids)),
                InboxUpdate.state == InboxState.PENDING,
                InboxUpdate.attempts == 0,
                InboxUpdate.next_attempt_at <= now,
            )
            .values(attempts=InboxUpdate.attempts + 1, started_at=now)
            .returning(
                InboxUpdate.update_id,
                InboxUpdate.attempts,
                InboxUpdate.payload,
                InboxUpdate.user_id,
            ),
            execution_options=_NO_SYNC,
        )
        attempts = [
            Attempt(int(update_id), int(tries), dict(payload), user_id)
            for update_id, tries, payload, user_id in rows
        ]
    return sorted(attempts, key=lambda attempt: attempt.update_id)


async def begin_attempt(db: Database, update_id: int, now: datetime) -> Attempt | None:
    """Counts a try in its own commit, before the handler runs, so a crash is counted too.

    For rows tried before (a retry, or a row whose try a crash cut short). None when the
    row is not pending and due any more (handled elsewhere, or failed here because it was
    begun ATTEMPT_LIMIT times without settling).
    """
    async with db.transaction() as session:
        row = (
            await session.execute(
                update(InboxUpdate)
                .where(
                    InboxUpdate.update_id == update_id,
                    InboxUpdate.state == InboxState.PENDING,
                    InboxUpdate.next_attempt_at <= now,
                )
                .values(attempts=InboxUpdate.attempts + 1, started_at=now)
                .returning(InboxUpdate.attempts, InboxUpdate.payload, InboxUpdate.user_id),
                execution_options=_NO_SYNC,
            )
        ).first()
        if row is None:
            return None
        attempts, payload, user_id = int(row[0]), dict(row[1]), row[2]
        if attempts > ATTEMPT_LIMIT:
            await _settle(
                session,
                update_id,
                InboxState.FAILED,
                now,
                f"begun {ATTEMPT_LIMIT} times without finishing",
            )
            return None
    return Attempt(update_id, attempts, payload, user_id)


@functools.cache
def _take_statement(dialect: str, *, per_sender: bool) -> Update:
    """Built once per shape: composing it took a third of the inbox's own time per update."""
    table = cast(Table, InboxUpdate.__table__)
    conditions = [
        table.c.update_id == bindparam("b_update_id"),
        table.c.state == InboxState.PENDING,
    ]
    if per_sender:
        older = table.alias("older")
        conditions.append(
            ~exists().where(
                older.c.user_id == bindparam("b_user_id"),
                older.c.state == InboxState.PENDING,
                older.c.update_id < table.c.update_id,
            )
        )
    if dialect == "postgresql":
        free = (
            select(table.c.update_id)
            .where(table.c.update_id == bindparam("b_update_id"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        conditions.append(table.c.update_id == free)
    return (
        update(table)
        .where(*conditions)
        .values(state=InboxState.DONE, finished_at=bindparam("b_now"), last_error=None, payload={})
    )


async def take(session: AsyncSession, attempt: Attempt, now: datetime) -> bool:
    """The unit of work's first statement: marks the row done, to commit with the handler.

    False (nothing changed) when the row is not pending any more, when another unit holds
    it (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite has one writer, which this unit
    already is), or when an older update of the same sender is unsettled (it goes first).
    A rollback of the unit undoes the mark with the handler's effects. This one UPDATE
    replaces a locking read, a count of older rows and the final UPDATE: the row is
    locked by it until the unit ends.

    The raw update (names, texts, a shared phone number) is not needed once handled: only
    its id stays, to recognise a redelivery, so an erased person leaves nothing here.
    """
    statement = _take_statement(session.bind.dialect.name, per_sender=attempt.user_id is not None)
    params: dict[str, Any] = {"b_update_id": attempt.update_id, "b_now": now}
    if attempt.user_id is not None:
        params["b_user_id"] = attempt.user_id
    result = await session.execute(statement, params)
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def _settle(
    session: AsyncSession,
    update_id: int,
    state: InboxState,
    now: datetime,
    error: str | None,
    **values: object,
) -> None:
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(state=state, finished_at=now, last_error=error, **values)
    )


async def record_failure(
    db: Database,
    update_id: int,
    now: datetime,
    error: str,
    *,
    give_up: bool,
    retry_at: datetime,
) -> InboxState:
    """After a failed try: pending again from ``retry_at``, or failed for good."""
    async with db.transaction() as session:
        row = await session.get(InboxUpdate, update_id, with_for_update=True)
        if row is None or row.state is not InboxState.PENDING:
            return row.state if row is not None else InboxState.FAILED
        if give_up:
            row.state, row.finished_at = InboxState.FAILED, now
        else:
            row.next_attempt_at = retry_at
        row.last_error = error[:2000]
        return row.state


async def prune(db: Database, now: datetime) -> int:
    """Forgets settled rows long after Telegram could send them again."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(InboxUpdate).where(
                or_(
                    and_(
                        InboxUpdate.state == InboxState.DONE,
                        InboxUpdate.finished_at < now - KEEP_DONE,
                    ),
                    and_(
                        InboxUpdate.state == InboxState.FAILED,
                        InboxUpdate.finished_at < now - KEEP_FAILED,
                    ),
                )
            )
        )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def state_counts(db: Database) -> dict[InboxState, int]:
    """How many rows are in each state (for logs at start-up and for tests)."""
    async with db.read() as session:
        rows = await session.execute(
            select(InboxUpdate.state, func.count()).group_by(InboxUpdate.state)
        )
        return {InboxState(state): int(count) for state, count in rows}
