"""The poller lock and the planner lock on PostgreSQL; no-ops on SQLite."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pydantic import SecretStr
from sqlalchemy import select, text

from liaison.bot.application import build_application
from liaison.bot.election import Election
from liaison.bot.jobs import plan_tick
from liaison.bot.runner import poll_when_elected
from liaison.bot.sandbox.fake_bot_api import FakeBotApi
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN
from liaison.bot.settings import Settings
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


@pytest.mark.postgres
async def test_poller_whose_lock_connection_dies_stops_at_once_and_polls_again_when_elected(
    postgres_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    await api.start()
    settings = Settings(
        bot_token=SecretStr(FAKE_TOKEN),
        api_base_url=api.base_url,
        api_file_base_url=api.file_base_url,
        data_dir=tmp_path,
    )
    app = build_application(settings, db=postgres_db, rate_limit=False)
    await app.initialize()
    stop = asyncio.Event()
    polling = asyncio.create_task(poll_when_elected(app, app.bot_data.inbox, stop))

    async def until(check: Callable[[], bool]) -> None:
        for _ in range(300):
            if check():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("timed out")

    def said(fragment: str) -> int:
        return sum(fragment in r.getMessage() for r in caplog.records)

    try:
        await until(lambda: len(api.calls("getUpdates")) == 1)  # a 20 s long poll, pending
        async with postgres_db.engine.connect() as admin:
            await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND objid = :low"
                ),
                {"low": locks.POLLER & 0xFFFFFFFF},
            )
        # The pending long poll is dropped, not waited for; the lock is free, so it is
        # elected again and asks anew.
        await until(lambda: said("lost the poller lock") == 1)
        await until(lambda: len(api.calls("getUpdates")) == 2)
        assert said("holds the poller lock") == 2
    finally:
        stop.set()
        await asyncio.wait_for(polling, 10)
        await app.shutdown()
        await api.stop()
