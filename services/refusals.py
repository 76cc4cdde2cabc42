"""Refused enrolment attempts: one audit event per account and window, and a lock-out.

A stranger once made 300 wrong ``/start CODE`` guesses in 16 seconds, each answered and
audited with a row of its own. Now the refusals of one Telegram account within a window
of WINDOW share one audit event that counts them by reason, and MAX_CODE_REFUSALS wrong
codes within the window lock that account out of code attempts for LOCK_OUT (sharing
one's own phone contact still works: it cannot be guessed). The counters live in the
database, so a restart or a second instance changes nothing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_

from liaison.storage.database import Database
from liaison.storage.models import AuditEvent, EnrolmentRefusals
from liaison.storage.queries import upsert_insert

WINDOW = timedelta(minutes=15)
MAX_CODE_REFUSALS = 5
LOCK_OUT = timedelta(hours=1)
# Counters of accounts that stopped trying are forgotten after this long.
FORGET_AFTER = timedelta(days=1)
LOCKED = "locked"


def minutes_left(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds() / 60))


async def locked_until(db: Database, telegram_user_id: int, now: datetime) -> datetime | None:
    """When this account may try codes again, if it is locked out now."""
    async with db.read() as session:
        row = await session.get(EnrolmentRefusals, telegram_user_id)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


async def record_refusal(
    db: Database,
    telegram_user_id: int,
    reason: str,
    now: datetime,
    *,
    code: bool,
    details: dict[str, Any] | None = None,
) -> datetime | None:
    """Counts one refusal in the window's audit event; returns the lock-out end if it starts now.

    Committed in a transaction of its own, so a refusal is recorded even though the use
    case that refused wrote nothing else.
    """
    async with db.transaction() as session:
        await session.execute(
            upsert_insert(session.bind.dialect.name, EnrolmentRefusals)
            .values(
                telegram_user_id=telegram_user_id,
                window_started_at=now,
                refusals=0,
                code_refusals=0,
            )
            .on_conflict_do_nothing(index_elements=["telegram_user_id"])
        )
        row = await session.get_one(
            EnrolmentRefusals, telegram_user_id, with_for_update=True, populate_existing=True
        )
        if row.window_started_at + WINDOW <= now:
            row.window_started_at, row.refusals, row.code_refusals = now, 0, 0
            row.audit_event_id = None
        row.refusals += 1
        row.code_refusals += int(code)
        started: datetime | None = None
        still_locked = row.locked_until is not None and row.locked_until > now
        if code and row.code_refusals >= MAX_CODE_REFUSALS and not still_locked:
            row.locked_until = started = now + LOCK_OUT
        event = await session.get(AuditEvent, row.audit_event_id) if row.audit_event_id else None
        if event is None:
            event = AuditEvent(
                action="enrolment.refused", telegram_user_id=telegram_user_id, at=now, details={}
            )
            session.add(event)
            await session.flush()
            row.audit_event_id = event.id
        merged = dict(event.details)
        reasons = dict(merged.get("reasons", {}))
        reasons[reason] = int(reasons.get(reason, 0)) + 1
        merged.update(details or {})
        count = int(merged.get("count", 0)) + 1
        merged.update(count=count, reason=reason, reasons=reasons, last_at=now.isoformat())
        if started is not None:
            merged["locked_until"] = started.isoformat()
        event.details = merged
        await session.execute(
            delete(EnrolmentRefusals).where(
                EnrolmentRefusals.window_started_at < now - FORGET_AFTER,
                or_(
                    EnrolmentRefusals.locked_until.is_(None),
                    EnrolmentRefusals.locked_until < now,
                ),
            )
        )
    return started
