"""The poller lock and the planner lock on PostgreSQL; no-ops on SQLite."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import select, text

from liaison.bot.election import Election
from liaison.bot.jobs import plan_tick
from liaison.services.clock import FakeClock
from liaison.storage import locks
from liaison.storage.database import Database
from liaison.storage.models import Heartbeat
from liaison.ui.context import BotContext


@pytest.mark.postgres
async def test_second_instance_waits_and_takes_the_poller_lock_when_the_holder_dies(
    postgres_db: Database,
) -> None:
    first = Election(postgres_db.engine, retry_seconds=0.05, check_seconds=0.05)
    second = Election(postgres_db.engine, retry_seconds=0.05, check_seconds=0.05)
    stop = asyncio.Event()
    assert await first.try_once() is True
    assert await second.try_once() is False
    waiting = asyncio.create_task(second.acquire(stop))
    watching = asyncio.create_task(first.watch(stop))
    await asyncio.sleep(0.2)
    assert not waiting.done() and not watching.done()
    # The holder's connection dies (as with SIGKILL, or the server dropping it).
    async with postgres_db.engine.connect() as admin:
        await admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND objid = :low"
            ),
            {"low": locks.POLLER & 0xFFFFFFFF},
        )
    await asyncio.wait_for(watching, 10)  # the holder notices and stops polling
    assert not first.held
    assert await asyncio.wait_for(waiting, 10) is True
    assert second.held
    assert await first.try_once() is False  # now the first one waits
    await second.release()
    assert await first.try_once() is True
    await first.release()


@pytest.mark.postgres
async def test_acquire_returns_false_when_stopped_while_waiting(postgres_db: Database) -> None:
    holder = Election(postgres_db.engine)
    waiter = Election(postgres_db.engine, retry_seconds=0.05)
    assert await holder.try_once()
    stop = asyncio.Event()
    waiting = asyncio.create_task(waiter.acquire(stop))
    await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(waiting, 5) is False
    await holder.release()


async def test_exclusive_lets_one_holder_at_a_time_on_postgres_and_everyone_on_sqlite(
    db: Database,
) -> None:
    async with (
        locks.exclusive(db, locks.PLANNER) as first,
        locks.exclusive(db, locks.PLANNER) as second,
    ):
        pass
    async with locks.exclusive(db, locks.PLANNER) as after:
        pass
    expected_second = db.dialect != "postgresql"
    assert (first, second, after) == (True, expected_second, True)


@pytest.mark.postgres
async def test_plan_tick_is_skipped_while_another_instance_plans(
    postgres_db: Database, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    context = cast(BotContext, SimpleNamespace(db=postgres_db, clock=clock, data_dir=tmp_path))
    caplog.set_level(logging.INFO, logger="liaison.bot.jobs")
    async with locks.exclusive(postgres_db, locks.PLANNER) as mine:
        assert mine
        await plan_tick(context)
    skipped = [r for r in caplog.records if "planning skipped" in r.getMessage()]
    assert len(skipped) == 1
    caplog.clear()
    await plan_tick(context)
    assert not [r for r in caplog.records if "planning skipped" in r.getMessage()]
    async with postgres_db.read() as session:
        beat: Any = await session.scalar(select(Heartbeat).where(Heartbeat.name == "plan"))
    assert beat is not None and beat.ok
