"""Prometheus metrics of this process: one registry, one-line calls where things happen.

The metric objects live in one process-wide registry (``REGISTRY``, not
prometheus-client's global one): the sender, the inbox and the jobs count through the
small functions below without anything being wired through their constructors, which
other work rewrites. Tests read the difference before and after what they do, or
scrape a process of their own (``liaison run``), so sharing the registry costs them
nothing. The outbox backlog is not counted but read from the database at scrape time
(``collect_backlog``, one query), so every instance reports the same truth.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ParamSpec, Protocol, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from sqlalchemy import case, func, select

from liaison.storage.database import Database
from liaison.storage.enums import OutboxState
from liaison.storage.models import OutboxMessage

T = TypeVar("T")
S = TypeVar("S")
P = ParamSpec("P")
StateT = TypeVar("StateT", bound=str | None)
log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

UPDATES = Counter(
    "liaison_updates",
    "Tries at stored updates, by outcome: done, retry (left pending), failed (given up).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_REFUSED = Counter(
    "liaison_webhook_refused",
    "Webhook calls refused because the secret token was missing or wrong.",
    registry=REGISTRY,
)
OUTBOX = Counter(
    "liaison_outbox_messages",
    "Outbox rows worked by the sender, by kind and outcome "
    "(sent, retried, failed, expired, unreachable, skipped).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
BACKLOG = Gauge(
    "liaison_outbox_backlog",
    "Outbox rows by state, read from the database when scraped.",
    ["state"],
    registry=REGISTRY,
)
OLDEST_DUE = Gauge(
    "liaison_outbox_oldest_due_age_seconds",
    "How long the oldest due, unsent outbox row has waited (0 when none waits).",
    registry=REGISTRY,
)
TICKS = Histogram(
    "liaison_tick_duration_seconds",
    "Time taken by one tick of a job (plan, send, mail).",
    ["job"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
SEND_LATENCY = Histogram(
    "liaison_outbox_send_seconds",
    "Time of the Telegram calls that deliver one outbox row (pacing waits left out).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)

_WAITING = (OutboxState.PENDING, OutboxState.SENDING)
# Shown as 0 from the start, so that rates over them work before the first event.
for _outcome in ("done", "retry", "failed"):
    UPDATES.labels(_outcome)


def update_settled(state: str | None) -> None:
    """One try at a stored update ended: done, failed, or pending again (a retry)."""
    if state is None:
        return
    outcome = "retry" if state == "pending" else str(state)
    UPDATES.labels(outcome).inc()


def webhook_refused() -> None:
    WEBHOOK_REFUSED.inc()


def outbox_outcome(kind: str, outcome: str) -> None:
    """One outbox row reached an outcome (see the counter's help for the names)."""
    OUTBOX.labels(str(kind), outcome).inc()


def tick_took(job: str, seconds: float) -> None:
    TICKS.labels(job).observe(seconds)


class Pace(Protocol):
    async def wait(self, chat_id: int) -> None: ...


class _TimedPace:
    """Passes waits on to the real pacer and adds up how long they took."""

    def __init__(self, pacer: Pace) -> None:
        self.pacer, self.waited = pacer, 0.0

    async def wait(self, chat_id: int) -> None:
        started = time.monotonic()
        try:
            await self.pacer.wait(chat_id)
        finally:
            self.waited += time.monotonic() - started


async def send_timed(pacer: Pace, deliver: Callable[[Pace], Awaitable[T]]) -> T:
    """Runs one delivery and observes the time of its Telegram calls, without pacing waits.

    Observed whether it succeeded or not: a slow error is latency too.
    """
    timed = _TimedPace(pacer)
    started = time.monotonic()
    try:
        return await deliver(timed)
    finally:
        SEND_LATENCY.observe(max(0.0, time.monotonic() - started - timed.waited))


async def collect_backlog(db: Database, now: datetime) -> None:
    """Sets the backlog gauges from one grouped query over the outbox."""
    due = case(
        (
            OutboxMessage.state.in_(_WAITING) & (OutboxMessage.due_at <= now),
            OutboxMessage.due_at,
        )
    )
    async with db.read() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.state, func.count(), func.min(due)).group_by(
                    OutboxMessage.state
                )
            )
        ).all()
    counts = {state: 0 for state in OutboxState}
    oldest: datetime | None = None
    for state, count, first_due in rows:
        counts[OutboxState(state)] = int(count)
        if first_due is not None and (oldest is None or first_due < oldest):
            oldest = first_due
    for state, count in counts.items():
        BACKLOG.labels(state.value).set(count)
    OLDEST_DUE.set((now - oldest).total_seconds() if oldest is not None else 0)


async def exposition(db: Database | None, now: datetime) -> bytes:
    """The text to answer GET /metrics with; the backlog read fresh when a database is given."""
    if db is not None:
        try:
            await collect_backlog(db, now)
        except Exception as exc:  # the counters are still worth serving; /healthz says why
            log.warning("metrics: could not read the outbox backlog (%s)", type(exc).__name__)
    return generate_latest(REGISTRY)
