"""Is Liaison well? One answer for `liaison status`, /healthz and the organizers' digest.

The running jobs leave a heartbeat row after every tick (which instance, when, how
long, the last error); health reads those, the outbox backlog and the schema revision,
and says what is wrong in codes the callers render.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, text

from liaison.storage.database import Database
from liaison.storage.enums import OutboxState, Role
from liaison.storage.models import Heartbeat, OutboxMessage, Person, Programme
from liaison.storage.queries import upsert_insert
from liaison.storage.schema import HEAD_REVISION, current_revisions

INSTANCE = f"{socket.gethostname()}:{os.getpid()}"


class Problem(StrEnum):
    DATABASE_UNREACHABLE = "database_unreachable"
    SCHEMA_OUTDATED = "schema_outdated"
    JOB_NEVER_RAN = "job_never_ran"
    JOB_STALE = "job_stale"
    JOB_FAILING = "job_failing"
    OUTBOX_STUCK = "outbox_stuck"


@dataclass(frozen=True)
class Finding:
    problem: Problem
    detail: str


@dataclass(frozen=True)
class Beat:
    name: str
    instance: str
    at: datetime
    age: timedelta
    seconds: float
    ok: bool
    last_error: str | None
    last_error_at: datetime | None


@dataclass(frozen=True)
class ProgrammeCounts:
    id: str
    title_zh: str
    title_en: str
    enrolled: dict[Role, int]
    on_roster: int


@dataclass
class Health:
    checked_at: datetime
    database: bool = False
    schema: set[str] = field(default_factory=set)
    expected_schema: set[str] = field(default_factory=set)
    programmes: list[ProgrammeCounts] = field(default_factory=list)
    outbox: dict[OutboxState, int] = field(default_factory=dict)
    oldest_due_age: timedelta | None = None
    beats: list[Beat] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Expectations:
    """How fresh each job's heartbeat must be, and how long a due row may wait."""

    stale_after: dict[str, timedelta]
    stuck_after: timedelta = timedelta(minutes=10)
    expect_jobs: bool = True


async def record_heartbeat(
    db: Database,
    name: str,
    at: datetime,
    seconds: float,
    error: str | None = None,
    instance: str = INSTANCE,
) -> None:
    """Upserts the job's row; a failure keeps its error and when it happened."""
    values: dict[str, object] = {
        "name": name,
        "instance": instance,
        "at": at,
        "seconds": seconds,
        "ok": error is None,
    }
    if error is not None:
        values |= {"last_error": error[:2000], "last_error_at": at}
    async with db.transaction() as session:
        insert = upsert_insert(db.dialect, Heartbeat).values(**values)
        update_values = {k: v for k, v in values.items() if k != "name"}
        await session.execute(
            insert.on_conflict_do_update(index_elements=["name"], set_=update_values)
        )


async def oldest_waiting(db: Database, now: datetime) -> timedelta | None:
    """How long the oldest due, unsent outbox message has been waiting, if any."""
    async with db.read() as session:
        oldest = await session.scalar(
            select(func.min(OutboxMessage.due_at)).where(
                OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
                OutboxMessage.due_at <= now,
            )
        )
    return now - oldest if oldest is not None else None


async def check_health(db: Database, now: datetime, expect: Expectations) -> Health:
    health = Health(checked_at=now, expected_schema={HEAD_REVISION})
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text("select 1"))
            health.schema = await current_revisions(connection)
    except Exception as exc:  # any failure to reach the database is the finding itself
        health.findings.append(Finding(Problem.DATABASE_UNREACHABLE, type(exc).__name__))
        return health
    health.database = True
    if health.schema != health.expected_schema:
        have = ", ".join(sorted(health.schema)) or "none"
        detail = f"{have} != {', '.join(sorted(health.expected_schema))}"
        health.findings.append(Finding(Problem.SCHEMA_OUTDATED, detail))
        return health
    async with db.read() as session:
        for programme in await session.scalars(select(Programme).order_by(Programme.id)):
            rows = await session.execute(
                select(Person.role, func.count())
                .where(Person.programme_id == programme.id, Person.telegram_user_id.is_not(None))
                .group_by(Person.role)
            )
            roster = await session.scalar(
                select(func.count()).where(Person.programme_id == programme.id)
            )
            health.programmes.append(
                ProgrammeCounts(
                    programme.id,
                    programme.title_zh,
                    programme.title_en,
                    {role: int(count) for role, count in rows},
                    int(roster or 0),
                )
            )
        states = await session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        )
        health.outbox = {state: int(count) for state, count in states}
        beats = list(await session.scalars(select(Heartbeat).order_by(Heartbeat.name)))
    health.oldest_due_age = await oldest_waiting(db, now)
    if health.oldest_due_age is not None and health.oldest_due_age > expect.stuck_after:
        minutes = int(health.oldest_due_age / timedelta(minutes=1))
        health.findings.append(Finding(Problem.OUTBOX_STUCK, f"{minutes} min"))
    by_name = {beat.name: beat for beat in beats}
    health.beats = [
        Beat(b.name, b.instance, b.at, now - b.at, b.seconds, b.ok, b.last_error, b.last_error_at)
        for b in beats
    ]
    for name, stale in expect.stale_after.items():
        beat = by_name.get(name)
        if beat is None:
            if expect.expect_jobs:
                health.findings.append(Finding(Problem.JOB_NEVER_RAN, name))
            continue
        if now - beat.at > stale:
            health.findings.append(Finding(Problem.JOB_STALE, name))
        elif not beat.ok:
            health.findings.append(Finding(Problem.JOB_FAILING, name))
    return health
