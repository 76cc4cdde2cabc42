"""Updates of different people are handled side by side; one person's in order, one at a time.

Many enrolled cadres send several updates each; the handler sleeps a random few
milliseconds and records when each update begins and ends. Two inboxes (two instances of
the bot) with four workers each drain the same database at once. Every update is handled
exactly once, each person's in update_id order and never two at a time, and on PostgreSQL
different people's updates really overlap.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from telegram import Update
from telegram.ext import TypeHandler

from liaison.bot.application import LiaisonApplication, build_application
from liaison.bot.inbox import default_concurrency
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.bot.settings import Settings
from liaison.services import inbox
from liaison.services.clock import FakeClock
from liaison.storage.database import Database
from liaison.storage.enums import InboxState, PersonStatus, Role
from liaison.storage.models import InboxUpdate, Person

PEOPLE = 12
EACH = 5
FIRST_USER = 880_000


@dataclass
class Log:
    """What the handlers saw, shared by both instances."""

    begun: list[tuple[int, int]] = field(default_factory=list)  # (user, update_id)
    busy: set[int] = field(default_factory=set)
    overlaps: list[int] = field(default_factory=list)  # a person handled twice at once
    most_at_once: int = 0


async def enrol_many(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(
            insert(Person),
            [
                {
                    "programme_id": "test-prog",
                    "name": f"Order {i}",
                    "phone": f"+86136{i:08d}",
                    "role": Role.CADRE,
                    "status": PersonStatus.ACTIVE,
                    "telegram_user_id": FIRST_USER + i,
                    "telegram_chat_id": FIRST_USER + i,
                    "timezone": "America/New_York",
                    "enrolled_at": datetime(2026, 10, 1, tzinfo=UTC),
                    "extra": {},
                }
                for i in range(PEOPLE)
            ],
        )


def instance(db: Database, clock: FakeClock, tmp_path: Path, log: Log, seed: int) -> Any:
    settings = Settings(
        bot_token=FAKE_TOKEN,
        database_url="sqlite://unused",
        data_dir=tmp_path / f"data-{seed}",
        default_locale="en",
        updates={"concurrency": 4},
    )
    app = build_application(
        settings, db=db, clock=clock, request=RecordingRequest(), rate_limit=False
    )
    rng = random.Random(seed)

    async def handler(update: Update, context: Any) -> None:
        user = update.effective_user
        assert user is not None
        if user.id in log.busy:
            log.overlaps.append(user.id)
        log.busy.add(user.id)
        log.most_at_once = max(log.most_at_once, len(log.busy))
        log.begun.append((user.id, update.update_id))
        try:
            await asyncio.sleep(rng.random() * 0.004)
        finally:
            log.busy.discard(user.id)

    app.add_handler(TypeHandler(Update, handler), group=5)
    return app


def message(update_id: int, user: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_800_000_000,
            "chat": {"id": user, "type": "private", "first_name": "O"},
            "from": {"id": user, "is_bot": False, "first_name": "O", "language_code": "en"},
            "text": f"note {update_id}",
        },
    }


async def drain_until_settled(apps: list[LiaisonApplication], db: Database, total: int) -> None:
    """Both instances drain at once until every row is settled (one may find the other's)."""
    for _ in range(200):
        await asyncio.gather(*(app.bot_data.inbox.drain() for app in apps))
        counts = await inbox.state_counts(db)
        if counts.get(InboxState.DONE, 0) >= total:
            return
    raise AssertionError(f"not settled: {await inbox.state_counts(db)}")


async def test_one_persons_updates_are_handled_in_order_while_people_run_side_by_side(
    seeded_db: Database, tmp_path: Path
) -> None:
    db = seeded_db
    await enrol_many(db)
    clock = FakeClock(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    log = Log()
    apps = [instance(db, clock, tmp_path, log, seed) for seed in (1, 2)]
    for app in apps:
        await app.initialize()
    try:
        # Interleaved as Telegram would number them: person 0..11, then again, EACH times.
        order = random.Random(7)
        users = [FIRST_USER + i for _ in range(EACH) for i in range(PEOPLE)]
        order.shuffle(users)
        payloads = [message(1_000 + n, user) for n, user in enumerate(users)]
        # Stored in three batches, through both instances (as two webhooks would).
        for n, start in enumerate(range(0, len(payloads), 20)):
            await apps[n % 2].bot_data.inbox.accept(payloads[start : start + 20])
        await drain_until_settled(apps, db, len(payloads))
    finally:
        for app in apps:
            await app.shutdown()

    assert not log.overlaps, f"people handled twice at once: {log.overlaps}"
    by_user: dict[int, list[int]] = defaultdict(list)
    for user, update_id in log.begun:
        by_user[user].append(update_id)
    expected: dict[int, list[int]] = defaultdict(list)
    for payload in payloads:
        expected[payload["message"]["from"]["id"]].append(payload["update_id"])
    assert by_user == expected  # each once, each person's in update_id order
    async with db.read() as session:
        done = await session.scalar(
            select(func.count()).where(InboxUpdate.state == InboxState.DONE)
        )
    assert done == len(payloads)
    if db.dialect == "postgresql":
        assert log.most_at_once > 1  # different people's updates did overlap


async def test_a_persons_update_waits_while_their_older_one_is_retried(
    seeded_db: Database, tmp_path: Path
) -> None:
    """An older update failing once holds the person's later ones back, not other people's."""
    db = seeded_db
    await enrol_many(db)
    clock = FakeClock(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    log = Log()
    app = instance(db, clock, tmp_path, log, 3)
    app.bot_data.inbox.retry_delay = lambda attempts: timedelta(seconds=10)
    failures = [RuntimeError("first try fails")]

    async def fail_once(update: Update, context: Any) -> None:
        if update.update_id == 2_000 and failures:
            raise failures.pop()

    app.add_handler(TypeHandler(Update, fail_once), group=6)
    await app.initialize()
    try:
        first, other = FIRST_USER, FIRST_USER + 1
        await app.bot_data.inbox.accept(
            [message(2_000, first), message(2_001, first), message(2_002, other)]
        )
        await app.bot_data.inbox.drain()
        async with db.read() as session:
            rows = await session.execute(select(InboxUpdate.update_id, InboxUpdate.state))
            states = {update_id: state for update_id, state in rows}
        assert states[2_000] is InboxState.PENDING
        assert states[2_001] is InboxState.PENDING  # behind the first
        assert states[2_002] is InboxState.DONE  # someone else: not held
        clock.advance(timedelta(seconds=10))
        await app.bot_data.inbox.drain()
    finally:
        await app.shutdown()
    mine = [update_id for user, update_id in log.begun if user == first]
    assert mine == [2_000, 2_000, 2_001]  # the failed try, its retry, then the later one


def test_default_concurrency_is_one_writer_on_sqlite_and_several_on_postgresql() -> None:
    assert default_concurrency("sqlite") == 1
    assert default_concurrency("postgresql") > 1
