"""Benchmarks: outbox dispatch throughput and planner tick time, on SQLite and PostgreSQL.

Targets (the reasons are in docs/benchmarks.md):
- dispatch: at least 250 rows/s through claim → render → send → record, ten times
  Telegram's ~25-30 messages/s, so the database is never what limits sending;
- planner: a steady-state tick for 500 enrolled cadres under 2 s (the tick runs every 30 s);
- memory: peak RSS of the whole run under 300 MB.

Run: .venv/bin/python benchmarks/outbox_and_planner.py  (writes docs/benchmarks.md)
"""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Bot

from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.sender.outbox_sender import OutboxSender
from liaison.sender.pacer import Pacer
from liaison.services.checkins.planning import plan_checkins
from liaison.services.clock import FakeClock
from liaison.services.outbox.payloads import ExpiredPayload
from liaison.services.outbox.queue import Planned, enqueue
from liaison.services.programmes.loading import load_programme
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.storage.enums import OutboxKind
from liaison.storage.models import Person

ROOT = Path(__file__).resolve().parent.parent
# The server the tests use; the benchmark works in a database of its own there.
POSTGRES_SERVER_URL = os.environ.get(
    "LIAISON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ROWS = 2000
CADRES = 500
DISPATCH_TARGET = 250.0
PLAN_TARGET = 2.0
RSS_TARGET_MB = 300.0


HISTORY = """
The first run missed two of them: dispatch ran at 186 rows/s on SQLite and 172 on
PostgreSQL, and a steady planner tick for 500 cadres took 1.75 s on SQLite. Three changes:

- the planner reads the survey's planned runs and the cohort's absences once per tick
  instead of once per cadre (steady tick 1.75 s → 0.03 s);
- SQLite runs in WAL mode with `synchronous=NORMAL` (safe against an application crash;
  only a power cut can lose the last commits), which makes each per-row commit cheap;
- the recipient's chat id comes with the recipient, one query fewer per message.

`pool_pre_ping` stays on for PostgreSQL although it costs about a fifth of the dispatch
rate (328 → 270 rows/s here): it is what lets the bot ride out a database restart.
"""


class NoWait:
    async def wait(self, chat_id: int) -> None:
        return None


async def fresh(url: str) -> Database:
    db = Database.from_url(url)
    async with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await connection.run_sync(Base.metadata.create_all)
    return db


async def people(db: Database, count: int, role: str, tz: str) -> list[int]:
    async with db.transaction() as session:
        rows = [
            Person(
                programme_id="test-prog",
                name=f"P{i}",
                phone=f"+86139{i:08d}",
                role=role,
                telegram_user_id=500_000 + i,
                telegram_chat_id=500_000 + i,
                extra={},
                timezone=tz,
                enrolled_at=datetime(2026, 10, 1, tzinfo=UTC),
            )
            for i in range(count)
        ]
        session.add_all(rows)
        await session.flush()
        return [r.id for r in rows]


async def bench_dispatch(url: str) -> float:
    db = await fresh(url)
    await load_programme(db, ROOT / "tests" / "data" / "programme.yaml")
    ids = await people(db, ROWS, "organizer", "Asia/Shanghai")
    now = datetime(2026, 11, 3, tzinfo=UTC)
    async with db.transaction() as session:
        for person_id in ids:
            await enqueue(
                session,
                Planned(
                    f"b:{person_id}",
                    person_id,
                    OutboxKind.EXPIRED_REPORT,
                    ExpiredPayload(count=1),
                    now,
                ),
            )
    request = RecordingRequest()
    bot = Bot(FAKE_TOKEN, request=request)
    await bot.initialize()
    dispatcher = OutboxSender(bot, db, FakeClock(now), Pacer(1e9, 0), batch=50)
    dispatcher.pacer = NoWait()  # type: ignore[assignment]
    started = time.perf_counter()
    sent = 0
    while True:
        report = await dispatcher.run_once()
        if not report.sent:
            break
        sent += report.sent
    elapsed = time.perf_counter() - started
    await db.dispose()
    assert sent == ROWS, sent
    return ROWS / elapsed


async def bench_plan(url: str) -> tuple[float, float]:
    db = await fresh(url)
    await load_programme(db, ROOT / "tests" / "data" / "programme.yaml")
    await people(db, CADRES, "cadre", "America/New_York")
    slot = datetime(2026, 10, 31, 0, 0, tzinfo=UTC)
    started = time.perf_counter()
    first = await plan_checkins(db, slot)
    first_tick = time.perf_counter() - started
    started = time.perf_counter()
    again = await plan_checkins(db, slot + timedelta(seconds=30))
    steady = time.perf_counter() - started
    await db.dispose()
    assert first.runs_created >= CADRES and again.runs_created == 0
    return first_tick, steady


@asynccontextmanager
async def own_database(server_url: str) -> AsyncIterator[str]:
    """Creates a database of the benchmark's own on the server, and drops it afterwards."""
    name = f"liaison_t_bench_{secrets.token_hex(4)}"
    maintenance = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with maintenance.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with maintenance.connect() as connection:
                await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await maintenance.dispose()


async def reachable(url: str) -> bool:
    db = Database.from_url(url)
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text("select 1"))
        return True
    except Exception:
        return False
    finally:
        await db.dispose()


async def main() -> int:
    results: list[tuple[str, float, float, float]] = []
    async with AsyncExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        backends = [("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db")]
        if await reachable(POSTGRES_SERVER_URL):
            url = await stack.enter_async_context(own_database(POSTGRES_SERVER_URL))
            backends.append(("PostgreSQL", url))
        for name, url in backends:
            rate = await bench_dispatch(url)
            if name == "SQLite":
                url = f"sqlite+aiosqlite:///{tmp}/bench-plan.db"
            first, steady = await bench_plan(url)
            results.append((name, rate, first, steady))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ok = all(r[1] >= DISPATCH_TARGET and r[3] <= PLAN_TARGET for r in results)
    ok = ok and rss_mb <= RSS_TARGET_MB
    lines = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/outbox_and_planner.py`; numbers from one run on "
        f"{platform.machine()} with {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"on {datetime.now(UTC):%Y-%m-%d}.",
        "",
        "Telegram lets a bot send about 30 messages a second; Liaison paces itself at 25. The",
        "database work per message must stay far below that budget, and the planner tick",
        "(every 30 s) must stay short for a cohort far larger than 13 cadres.",
        "",
        "| backend | dispatch (rows/s, target ≥ 250) | first planner tick, 500 cadres (s) "
        "| steady planner tick (s, target ≤ 2) |",
        "| --- | --- | --- | --- |",
        *[
            f"| {name} | {rate:,.0f} | {first:.2f} | {steady:.2f} |"
            for name, rate, first, steady in results
        ],
        "",
        f"Peak RSS of the whole run: {rss_mb:.0f} MB (target ≤ {RSS_TARGET_MB:.0f} MB).",
        "",
        f"Dispatch: {ROWS} outbox rows claimed in batches of 50, rendered, sent through the "
        "recording transport (no network, pacing off) and recorded as sent.",
        f"Planner: {CADRES} enrolled cadres in New York on a check-in slot; the first tick "
        "creates their runs and prompts, the second finds nothing new.",
        "",
        f"Result: {'all targets met' if ok else 'TARGET MISSED'}.",
        "",
        "## What changed to meet the targets",
        *HISTORY.strip("\n").splitlines(),
        "",
    ]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))  # noqa: T201 - a script's report
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
