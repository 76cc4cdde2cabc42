"""Fixtures: databases (SQLite always, PostgreSQL when reachable), a fake clock, a bot harness."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from telegram import Update

from liaison.bot.application import LiaisonApplication, build_application
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.bot.sandbox.fake_updates import FakeUser, UpdateFactory
from liaison.bot.settings import Settings
from liaison.sender.outbox_sender import SendReport
from liaison.services.clock import FakeClock
from liaison.services.planning import plan_all
from liaison.services.programmes.loading import load_programme
from liaison.services.roster import import_roster
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.ui.context import BotContext

os.environ.setdefault("PTB_TIMEDELTA", "1")  # opt in to the future type of retry_after

DATA = Path(__file__).parent / "data"
PROGRAMME_FILE = DATA / "programme.yaml"
ROSTER_FILE = DATA / "roster.csv"
PROGRAMME_ID = "test-prog"
POSTGRES_URL = os.environ.get(
    "LIAISON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)

_postgres_state: dict[str, str | None] = {}


async def _postgres_problem() -> str | None:
    """Returns why PostgreSQL cannot be used, or None when it can."""
    if "problem" not in _postgres_state:
        db = Database.from_url(POSTGRES_URL)
        try:
            async with db.engine.connect() as connection:
                await connection.execute(text("select 1"))
            _postgres_state["problem"] = None
        except Exception as exc:  # any failure means "not reachable" here
            _postgres_state["problem"] = f"{type(exc).__name__}: {exc}"
        finally:
            await db.dispose()
    return _postgres_state["problem"]


async def require_postgres() -> None:
    problem = await _postgres_problem()
    if problem is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is not reachable ({problem})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the PostgreSQL tests")
    pytest.skip(message)


async def reset_postgres(url: str) -> None:
    db = Database.from_url(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()


async def _make_db(backend: str, tmp_path: Path) -> Database:
    if backend == "postgresql":
        await require_postgres()
        await reset_postgres(POSTGRES_URL)
        db = Database.from_url(POSTGRES_URL)
    else:
        db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    async with db.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return db


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh schema on SQLite and, in a second run of the test, on PostgreSQL."""
    database = await _make_db(backend, tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await _make_db("sqlite", tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    # A Friday morning in Chapel Hill, before the November daylight-saving change.
    return FakeClock(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))


async def seed(db: Database) -> None:
    await load_programme(db, PROGRAMME_FILE)
    await import_roster(db, PROGRAMME_ID, ROSTER_FILE)


# Roster people as Telegram users (ids are arbitrary; phones are those in data/roster.csv).
ZHANG = FakeUser(501, "张伟", "zh-hans")
LI = FakeUser(502, "李娜", "zh-hans")
WANG = FakeUser(503, "Fang", "en")
ORGANIZER_CHEN = FakeUser(601, "陈", "zh-hans")
ORGANIZER_LIU = FakeUser(602, "Liu", "en")
STRANGER = FakeUser(999, "Stranger", "en")
PHONES = {
    501: "8613800001001",
    502: "+8613800001002",
    503: "8613800001003",
    601: "8613900002001",
    602: "8613900002002",
}


class FakePacer:
    """Records what the real Pacer would wait, without waiting."""

    def __init__(self) -> None:
        self.waits: list[int] = []

    async def wait(self, chat_id: int) -> None:
        self.waits.append(chat_id)


@dataclass
class Harness:
    """The real Application over the recording transport, fed updates one by one."""

    app: LiaisonApplication
    request: RecordingRequest
    updates: UpdateFactory
    db: Database
    clock: FakeClock
    settings: Settings
    errors: list[BaseException] = field(default_factory=list)
    pacer: FakePacer | None = None

    async def plan(self) -> None:
        await plan_all(self.db, self.clock.now(), self.settings.data_dir)

    async def dispatch(self) -> SendReport:
        return await self.app.bot_data.sender.run_once()

    async def tick(self) -> SendReport:
        """One planner tick and one dispatcher tick, as the job queue would run them."""
        await self.plan()
        return await self.dispatch()

    async def send(self, update: Update, *, expect_error: bool = False) -> None:
        """Stores the update in the inbox and handles it there, as production does."""
        self.errors.clear()
        await self.app.bot_data.inbox.accept([update.to_dict()])
        await self.app.bot_data.inbox.drain()
        if not expect_error and self.errors:
            raise self.errors[0]

    async def enrol(self, user: FakeUser) -> None:
        await self.send(self.updates.contact(user, PHONES[user.id], contact_user_id=user.id))

    def texts(self, user: FakeUser) -> list[str]:
        return self.request.texts(user.id)

    def last_text(self, user: FakeUser) -> str:
        return self.request.last_text(user.id)


@pytest.fixture
async def harness(sqlite_db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Harness]:
    await seed(sqlite_db)
    async for item in _harness(sqlite_db, clock, tmp_path):
        yield item


async def _harness(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = Settings(
        bot_token=FAKE_TOKEN,  # type: ignore[arg-type]
        database_url="sqlite://unused",
        data_dir=tmp_path / "data",
        default_locale="zh_CN",
    )
    request = RecordingRequest()
    app = build_application(settings, db=db, clock=clock, request=request, rate_limit=False)
    harness = Harness(app, request, UpdateFactory(app.bot), db, clock, settings)
    harness.pacer = FakePacer()
    # Tries again at once: a failing handler is settled within one send.
    app.bot_data.inbox.retry_delay = lambda attempts: timedelta(0)
    app.bot_data.sender.pacer = harness.pacer  # type: ignore[assignment]

    async def remember(update: object, context: BotContext) -> None:
        if context.error is not None:
            harness.errors.append(context.error)

    app.add_error_handler(remember)  # type: ignore[arg-type]
    await app.initialize()
    request.clear()
    try:
        yield harness
    finally:
        await app.shutdown()


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


def run_sync(func: Any, *args: Any) -> Any:
    """Runs blocking code (Alembic's own event loop) off the test's loop."""
    return asyncio.to_thread(func, *args)
