"""Fixtures: databases (SQLite always, PostgreSQL when reachable), a fake clock, a bot harness."""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Update

from liaison.bot.application import LiaisonApplication, build_application
from liaison.bot.sandbox.fake_telegram import FAKE_TOKEN, RecordingRequest
from liaison.bot.sandbox.fake_updates import FakeUser, UpdateFactory
from liaison.bot.settings import Settings
from liaison.sender.outbox_sender import SendReport
from liaison.services.clock import FakeClock
from liaison.services.planning import plan_all
from liaison.services.programmes.loading import ProgrammePlan, apply_plan, plan_programme
from liaison.services.roster import import_roster
from liaison.storage.base import Base
from liaison.storage.database import Database
from liaison.ui.context import BotContext

os.environ.setdefault("PTB_TIMEDELTA", "1")  # opt in to the future type of retry_after

DATA = Path(__file__).parent / "data"
PROGRAMME_FILE = DATA / "programme.yaml"
ROSTER_FILE = DATA / "roster.csv"
PROGRAMME_ID = "test-prog"
# The server the PostgreSQL tests use. Its own database (`test` by default) is only the
# maintenance database: the tests connect to it to create and drop databases of their own,
# named `liaison_t_<run id>_<worker id>`, and never change anything inside it.
POSTGRES_SERVER_URL = os.environ.get(
    "LIAISON_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TEST_DATABASE_PREFIX = "liaison_t_"

T = TypeVar("T")
RUN_ID = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Names the run: one short random id, shared by the xdist workers of the run."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    config.stash[RUN_ID] = workerinput["liaison_run_id"] if workerinput else secrets.token_hex(4)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Hands the run id to each xdist worker (called in the controller only)."""
    node.workerinput["liaison_run_id"] = node.config.stash[RUN_ID]


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine to the end on its own loop in a helper thread.

    Session fixtures are synchronous: each test has its own event loop (pytest-asyncio's
    function scope), and `asyncio.run` in this thread would unset it.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class PostgresServer:
    """The server at LIAISON_TEST_POSTGRES_URL, used only through databases this run creates."""

    def __init__(self, url: str, run_id: str, worker_id: str) -> None:
        self.url = url
        self.prefix = f"{TEST_DATABASE_PREFIX}{run_id}_{worker_id}"
        self.created: list[str] = []

    def database_url(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    async def _maintenance(self, *statements: str) -> None:
        # CREATE and DROP DATABASE cannot run inside a transaction block.
        engine = create_async_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                for statement in statements:
                    await connection.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    def problem(self) -> str | None:
        """Returns why the server cannot be used, or None when it can."""
        try:
            run_blocking(self._maintenance("select 1"))
        except Exception as exc:  # any failure means "not reachable" here
            return f"{type(exc).__name__}: {exc}"
        return None

    def create_database(self, suffix: str = "") -> str:
        """Creates an empty database of this run and worker and returns its URL."""
        name = self.prefix + suffix
        run_blocking(
            self._maintenance(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f'CREATE DATABASE "{name}"',
                # Commits need not wait for the disk: the data is thrown away anyway.
                f'ALTER DATABASE "{name}" SET synchronous_commit = off',
            )
        )
        self.created.append(name)
        return self.database_url(name)

    def drop_databases(self) -> None:
        statements = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.created]
        if statements:
            run_blocking(self._maintenance(*statements))
        self.created.clear()


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """The PostgreSQL server; skips (fails under CI) the tests that need it when unreachable.

    The databases made through it are dropped when the session ends, whether tests passed,
    failed or were interrupted.
    """
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "main")
    server = PostgresServer(POSTGRES_SERVER_URL, request.config.stash[RUN_ID], worker_id)
    problem = server.problem()
    if problem is not None:
        message = f"PostgreSQL at {POSTGRES_SERVER_URL} is not reachable ({problem})"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the PostgreSQL tests")
        pytest.skip(message)
    try:
        yield server
    finally:
        server.drop_databases()


# Fresh databases, cheaply. Every test still starts from the state it always had (an
# empty schema, or the test programme and roster loaded into it), but the expensive work
# is done once per session and xdist worker: SQLite tests copy a template file (0.3 ms),
# PostgreSQL tests reuse the worker's database, its schema created once, emptied before
# each test by EMPTY_POSTGRES, then seeded from the programme plan parsed once.
#
# Measured on this machine (PostgreSQL 15, 2 cores), per fresh database: create_all 210 ms
# on PostgreSQL and 110 ms on SQLite; seeding 130 ms from the files, 30-40 ms from the
# parsed plan. To empty the PostgreSQL database: CREATE DATABASE ... TEMPLATE (and DROP)
# 150 ms with either STRATEGY, plus a new connection; TRUNCATE of all 18 tables 75-120 ms;
# EMPTY_POSTGRES, which truncates only the tables that were written to, 3 ms when the test
# wrote nothing, 55-70 ms after seeding (8 tables). DELETE FROM every table would take
# 7 ms but leaves dead rows behind, and pruning them can let new rows take earlier slots,
# so that a scan without ORDER BY no longer returns rows in insertion order as it does in
# a new table; after TRUNCATE every table is as create_all made it.


async def seed(db: Database) -> None:
    """Loads the test programme and roster, as `liaison programme load` and `roster import` do."""
    async with db.transaction() as session:
        # The plan is parsed and validated once per worker; each load gets its own copy.
        await apply_plan(session, copy.deepcopy(_programme_plan()))
    await import_roster(db, PROGRAMME_ID, ROSTER_FILE)


@functools.cache
def _programme_plan() -> ProgrammePlan:
    return plan_programme(PROGRAMME_FILE)


def _sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _create_schema(url: str, *, seeded: bool = False) -> None:
    database = Database.from_url(url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        if seeded:
            await seed(database)
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """SQLite files built once per worker: "schema" (empty tables) and "seeded" (loaded)."""
    folder = tmp_path_factory.mktemp("templates")
    templates = {"schema": folder / "schema.db", "seeded": folder / "seeded.db"}
    for name, path in templates.items():
        run_blocking(_create_schema(_sqlite_url(path), seeded=name == "seeded"))
        # Closing the last connection checkpoints the WAL into the file; a copy of the file
        # alone is then the whole database.
        assert not path.with_name(path.name + "-wal").exists(), f"{path} is still open"
    return templates


def sqlite_copy(template: Path, tmp_path: Path) -> Database:
    target = tmp_path / "test.db"
    shutil.copyfile(template, target)
    return Database.from_url(_sqlite_url(target))


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """This run's (and this xdist worker's) own PostgreSQL database, with the schema."""
    url = postgres_server.create_database()
    run_blocking(_create_schema(url))
    return url


# Truncates the tables that were ever written to (a table created or truncated has no
# pages) and restarts every sequence that was used (an insert refused by a NOT NULL check
# uses a value without writing a row): afterwards the database is as create_all left it.
EMPTY_POSTGRES = """
DO $$
DECLARE
    written text;
    used record;
BEGIN
    SELECT string_agg(format('%I', relname), ', ') INTO written
    FROM pg_class
    WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND pg_relation_size(oid) > 0;
    IF written IS NOT NULL THEN
        EXECUTE 'TRUNCATE ' || written || ' RESTART IDENTITY CASCADE';
    END IF;
    FOR used IN
        SELECT sequencename FROM pg_sequences
        WHERE schemaname = 'public' AND last_value IS NOT NULL
    LOOP
        EXECUTE format('ALTER SEQUENCE public.%I RESTART', used.sequencename);
    END LOOP;
END
$$
"""


async def fresh_postgres_db(url: str, *, seeded: bool = False) -> Database:
    database = Database.from_url(url)
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql(EMPTY_POSTGRES)
    if seeded:
        await seed(database)
    return database


async def reset_postgres(url: str) -> None:
    """Empties a database of this run completely: drops and recreates its `public` schema."""
    name = make_url(url).database or ""
    if not name.startswith(TEST_DATABASE_PREFIX):
        raise ValueError(f"refusing to reset {name!r}: not a database of the test run")
    db = Database.from_url(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def postgres_bare_url(postgres_server: PostgresServer) -> str:
    """A second database of this run and worker, for tests that make their own schema."""
    return postgres_server.create_database("_bare")


@pytest.fixture
async def postgres_empty_url(postgres_bare_url: str) -> str:
    """A PostgreSQL database of this run without any table (for the migration tests)."""
    await reset_postgres(postgres_bare_url)
    return postgres_bare_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _fresh(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, *, seeded: bool
) -> Database:
    # The session fixtures are asked for here, not as parameters, so that the SQLite runs
    # never need a server and the PostgreSQL runs build no SQLite template.
    if backend == "postgresql":
        return await fresh_postgres_db(request.getfixturevalue("postgres_url"), seeded=seeded)
    templates: dict[str, Path] = request.getfixturevalue("sqlite_templates")
    return sqlite_copy(templates["seeded" if seeded else "schema"], tmp_path)


@pytest.fixture
async def db(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """A fresh schema on SQLite and, in a second run of the test, on PostgreSQL."""
    database = await _fresh(backend, request, tmp_path, seeded=False)
    yield database
    await database.dispose()


@pytest.fixture
async def seeded_db(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Database]:
    """Like `db`, with the test programme and roster loaded (`seed`)."""
    database = await _fresh(backend, request, tmp_path, seeded=True)
    yield database
    await database.dispose()


@pytest.fixture
async def postgres_db(postgres_url: str) -> AsyncIterator[Database]:
    """A fresh schema in this run's PostgreSQL database."""
    database = await fresh_postgres_db(postgres_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(sqlite_templates: dict[str, Path], tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh schema on SQLite."""
    database = sqlite_copy(sqlite_templates["schema"], tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
async def seeded_sqlite_db(
    sqlite_templates: dict[str, Path], tmp_path: Path
) -> AsyncIterator[Database]:
    """A fresh schema on SQLite with the test programme and roster loaded."""
    database = sqlite_copy(sqlite_templates["seeded"], tmp_path)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    # A Friday morning in Chapel Hill, before the November daylight-saving change.
    return FakeClock(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))


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
async def harness(
    seeded_sqlite_db: Database, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Harness]:
    async for item in _harness(seeded_sqlite_db, clock, tmp_path):
        yield item


async def _harness(db: Database, clock: FakeClock, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = Settings(
        bot_token=FAKE_TOKEN,
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

    app.add_error_handler(remember)
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
